/**
 * Restart the Temporal dev server (on a file database) in the middle of a run: workflows already started
 * survive in the file and finish; events committed while it is down wait in the outbox and the relay starts
 * them when it is back. Round 1 kills the server with SIGKILL, round 2 stops it cleanly. 0 lost.
 */
import {
  duplicatesOf,
  insertOrders,
  JOBS_PER_ORDER,
  missingDeliveries,
  record,
  sleep,
  startStack,
  waitForWorkflows,
  workflowIdsOf,
  type Stack,
} from './harness';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ name: 'temporal-restart' });
  await stack.startWorker().ready;
});

afterAll(async () => {
  await stack?.stop();
});

test('restart the dev server on its file database mid-run: every job completes, none lost', async () => {
  let totalLost = 0;
  let totalDuplicates = 0;
  const modes = ['kill9', 'stop'] as const;
  for (const [i, mode] of modes.entries()) {
    const skippedBefore = stack.workerEvents.filter((e) => e.event === 'effect.already_sent').length;
    const rows = await insertOrders(stack.pool, 15, `temporal ${mode}`);
    const started = (await Promise.all(rows.map((row) => stack.client.afterCommit('Order', 'create', row)))).flat();
    expect(started).toHaveLength(rows.length * JOBS_PER_ORDER);
    await sleep(400); // mid-burst
    const down = Date.now();
    const restarting = stack.restartTemporal(mode);
    // While the server is down the app keeps committing, through the outbox.
    const committedWhileDown: Array<{ row: Record<string, unknown>; eventId: string }> = [];
    await sleep(300);
    for (let n = 0; n < 8; n++) {
      await stack.client.withTransaction(
        stack.pool,
        async (tx, emit) => {
          const {
            rows: [order],
          } = await tx.query(`INSERT INTO orders (customer_id, note) VALUES (2, 'while down') RETURNING *`);
          emit('Order', 'create', order);
          committedWhileDown.push({ row: order, eventId: '' });
        },
        { outbox: true },
      );
    }
    await restarting;
    const downtime = Date.now() - down;
    const { rows: events } = await stack.pool.query(
      `SELECT (record->>'id')::int AS id, event_id FROM forge_jobs.outbox WHERE (record->>'id')::int = ANY($1)`,
      [committedWhileDown.map((c) => c.row.id)],
    );
    for (const c of committedWhileDown) c.eventId = events.find((e) => e.id === Number(c.row.id))?.event_id ?? 'missing';
    const ids = [...started.map((s) => s.workflowId), ...committedWhileDown.flatMap((c) => workflowIdsOf(c.row, c.eventId))];
    const outcome = await waitForWorkflows(await stack.temporalClient(), ids, 150_000);
    const orderIds = [...rows.map((r) => r.id), ...committedWhileDown.map((c) => c.row.id)];
    const missing = missingDeliveries(stack, orderIds);
    const lost = outcome.open.length + outcome.dead + missing.length;
    const duplicates = duplicatesOf(stack, orderIds);
    totalLost += lost;
    totalDuplicates += duplicates;
    record({
      scenario: 'temporal restart',
      round: `${i + 1}/${modes.length}`,
      fault: `${mode === 'kill9' ? 'SIGKILL' : 'stop'} dev server mid-burst, restart on its file db`,
      jobs: ids.length,
      completed: outcome.completed,
      dead: outcome.dead,
      lost,
      duplicates,
      ledgerSkips: stack.workerEvents.filter((e) => e.event === 'effect.already_sent').length - skippedBefore,
      note: `${rows.length} orders started before, ${committedWhileDown.length} committed to the outbox while down; down ${(downtime / 1000).toFixed(1)} s`,
    });
  }
  expect(totalLost).toBe(0);
  expect(totalDuplicates).toBe(0);
});
