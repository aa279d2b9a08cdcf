import { insertOrders, sleep, startStack } from '/work/main/test/faults/harness';
test('dbg', async () => {
  const stack = await startStack({ name: 'dbg', timeout: '3s' });
  let worker = stack.startWorker();
  await worker.ready;
  const t = await stack.temporalClient();
  const rows = await insertOrders(stack.pool, 15, 'x');
  const t0 = Date.now();
  const ids = (await Promise.all(rows.map((r) => stack.client.afterCommit('Order', 'create', r)))).flat().map((s) => s.workflowId);
  console.log('started', Date.now() - t0);
  await sleep(600);
  console.log('delivered at kill', stack.smtp.total() + stack.http.total());
  await worker.kill9();
  worker = stack.startWorker();
  await worker.ready;
  console.log('restarted', Date.now() - t0);
  for (let i = 0; i < 30; i++) {
    const ds = await Promise.all(ids.map((id) => t.workflow.getHandle(id).describe()));
    const running = ds.filter((d) => d.status.name === 'RUNNING');
    console.log(Date.now() - t0, 'running', running.length, 'delivered', stack.smtp.total() + stack.http.total(),
      running.slice(0, 2).map((d) => JSON.stringify({ pa: d.raw.pendingActivities?.map((a) => [a.activityType?.name, a.state, a.attempt]), wft: d.raw.pendingWorkflowTask })));
    if (running.length === 0) break;
    await sleep(3000);
  }
  await stack.stop();
}, 300000);
