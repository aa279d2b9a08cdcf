/**
 * Postgres unreachable for 10 s (a proxy on 127.0.0.1 in front of it drops every connection and refuses
 * new ones): needs resolution and the effects' database reads fail transiently and are retried; every job
 * completes after the outage. Round 1: the outage covers the needs of a whole burst; round 2: it starts in
 * the middle of the effects.
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
  type Stack,
} from './harness';

const OUTAGE_MS = 10_000;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ name: 'postgres-outage' });
  await stack.startWorker().ready;
});

afterAll(async () => {
  await stack?.stop();
});

test('Postgres unreachable for 10 s during needs: every job completes after it', async () => {
  let totalLost = 0;
  const rounds = [
    { fault: 'Postgres unreachable 10 s from before the burst (needs)', leadMs: -1 },
    { fault: 'Postgres unreachable 10 s from 300 ms into the burst', leadMs: 300 },
  ];
  for (const [i, round] of rounds.entries()) {
    const rows = await insertOrders(stack.pool, 10, `pg ${i}`);
    if (round.leadMs < 0) await stack.proxy.pause();
    const started = (await Promise.all(rows.map((row) => stack.client.afterCommit('Order', 'create', row)))).flat();
    if (round.leadMs >= 0) {
      await sleep(round.leadMs);
      await stack.proxy.pause();
    }
    const failuresBefore = stack.workerEvents.filter((e) => e.event === 'job.failed').length;
    await sleep(OUTAGE_MS);
    const completedDuringOutage = (
      await waitForWorkflows(
        await stack.temporalClient(),
        started.map((s) => s.workflowId),
        1,
      )
    ).completed;
    await stack.proxy.resume();
    const outcome = await waitForWorkflows(
      await stack.temporalClient(),
      started.map((s) => s.workflowId),
      120_000,
    );
    const missing = missingDeliveries(
      stack,
      rows.map((r) => r.id),
    );
    const lost = rows.length * JOBS_PER_ORDER - started.length + outcome.open.length + outcome.dead + missing.length;
    totalLost += lost;
    const retried = stack.workerEvents.filter((e) => e.event === 'job.failed').length - failuresBefore;
    record({
      scenario: 'postgres outage',
      round: `${i + 1}/${rounds.length}`,
      fault: round.fault,
      jobs: rows.length * JOBS_PER_ORDER,
      completed: outcome.completed,
      dead: outcome.dead,
      lost,
      duplicates: duplicatesOf(
        stack,
        rows.map((r) => r.id),
      ),
      note: `${completedDuringOutage} completed during the outage; ${retried} effect attempts failed and were retried${outcome.reasons[0] ? `; ${outcome.reasons[0]}` : ''}`,
    });
  }
  expect(totalLost).toBe(0);
});
