/**
 * kill -9 the worker twice in the middle of a paged fan-out (6,000 members, two parts, batches of 200): the
 * job completes and every member is mailed, none lost, duplicates counted (by Message-ID) and bounded as for
 * single effects. A killed worker's batches stop heartbeating; Temporal runs each again on the new worker
 * within the heartbeat timeout, and the sent-ledger (written by the courier, which outlives its worker)
 * answers for the sends the lost attempt had made.
 */
import { record, sleep, startStack, waitForWorkflows, type Stack, type WorkerProcess } from './harness';

const MEMBERS = 6000;
const KILLS = 2;

let stack: Stack;
let worker: WorkerProcess;

beforeAll(async () => {
  stack = await startStack({ name: 'fanout-kill', timeout: '3s' });
  worker = stack.startWorker();
  await worker.ready;
});

afterAll(async () => {
  await stack?.stop();
});

test(`kill -9 the worker ${KILLS} times during a ${MEMBERS}-target fan-out: every member mailed, none twice`, async () => {
  const {
    rows: [list],
  } = await stack.pool.query(`INSERT INTO lists (title) VALUES ('all') RETURNING *`);
  await stack.pool.query(
    `INSERT INTO members (list_id, email) SELECT $1, 'm' || g || '@faults.test' FROM generate_series(1, ${MEMBERS}) g`,
    [list.id],
  );
  const [started] = await stack.client.afterCommit('List', 'update', list);
  const sentAtKill: number[] = [];
  for (let kill = 1; kill <= KILLS; kill++) {
    // Each kill lands in the middle: after a further sixth of the members were mailed.
    const goal = (kill * MEMBERS) / (KILLS + 1);
    while (stack.smtp.total() < goal) await sleep(50);
    sentAtKill.push(stack.smtp.total());
    await worker.kill9();
    worker = stack.startWorker();
    await worker.ready;
  }
  const outcome = await waitForWorkflows(await stack.temporalClient(), [started.workflowId], 240_000);
  expect(outcome.statuses.get(started.workflowId)?.status).toBe('COMPLETED');

  const { rows } = await stack.pool.query<{ id: number }>('SELECT id FROM members WHERE list_id = $1', [list.id]);
  const counts = rows.map((r) => stack.smtp.labelCounts.get(`Member ${r.id}`) ?? 0);
  const lost = counts.filter((n) => n === 0).length;
  const duplicates = counts.reduce((sum, n) => sum + Math.max(0, n - 1), 0);
  const skipped = stack.workerEvents.filter((e) => e.event === 'effect.already_sent' && e.job_id === started.workflowId).length;
  record({
    scenario: 'fan-out worker kill -9',
    round: `${KILLS} kills`,
    fault: `SIGKILL worker at ${sentAtKill.join(', ')} of ${MEMBERS} sends`,
    jobs: 1,
    completed: 1,
    dead: 0,
    lost,
    duplicates,
    ledgerSkips: skipped,
    note: `${MEMBERS} targets in batches of 200; the killed workers' batches ran again and the ledger skipped ${skipped} re-send(s)`,
  });
  expect(lost).toBe(0);
  // A send the courier finished after its worker died is in the ledger: what remains is the narrow window
  // between the server's acceptance and the ledger insert, at most the sends in flight at each kill.
  expect(duplicates).toBeLessThanOrEqual(KILLS * 10);
  expect(skipped).toBeGreaterThan(0);
}, 300_000);
