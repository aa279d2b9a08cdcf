/**
 * kill -9 the worker in the middle of a burst of effects, for many rounds: every job completes, and no
 * email or POST reaches its sink twice (counted by Message-ID and Idempotency-Key).
 *
 * What protects against duplicates: an attempt lost with its worker is retried by Temporal after the
 * effect timeout; a send it had confirmed is in the effect ledger and is skipped (`effect.already_sent`).
 * What remains: a kill after the sink accepted a message but before the ledger insert (one local INSERT)
 * re-sends on retry. The table's note says how many sends the ledger skipped and how the kill fell.
 */
import { duplicatesNow, insertOrders, JOBS_PER_ORDER, missingDeliveries, record, sleep, startStack, waitForWorkflows, type Stack, type WorkerProcess } from './harness';

const ROUNDS = Number(process.env.FORGE_FAULTS_ROUNDS ?? 10);
const BURST = 15;

let stack: Stack;
let worker: WorkerProcess;

beforeAll(async () => {
  stack = await startStack({ name: 'worker-kill', timeout: '3s' });
  worker = stack.startWorker();
  await worker.ready;
});

afterAll(async () => {
  await stack?.stop();
});

test(`kill -9 the worker during effects, ${ROUNDS} rounds: every job completes, no duplicate delivery`, async () => {
  const temporal = await stack.temporalClient();
  let totalLost = 0;
  let totalDuplicates = 0;
  for (let round = 1; round <= ROUNDS; round++) {
    const skippedBefore = stack.workerEvents.filter((e) => e.event === 'effect.already_sent').length;
    const duplicatesBefore = duplicatesNow(stack);
    const deliveredBefore = stack.smtp.total() + stack.http.total();
    const rows = await insertOrders(stack.pool, BURST, `round ${round}`);
    const started = Date.now();
    const starts = await Promise.all(rows.map((row) => stack.client.afterCommit('Order', 'create', row)));
    const ids = starts.flat().map((s) => s.workflowId);
    // Somewhere inside the burst: early rounds hit resolution, later ones the effects and their completions.
    const killAt = 150 + Math.floor(Math.random() * 900);
    await sleep(Math.max(0, killAt - (Date.now() - started)));
    const deliveredAtKill = stack.smtp.total() + stack.http.total() - deliveredBefore;
    await worker.kill9();
    worker = stack.startWorker();
    await worker.ready;
    const outcome = await waitForWorkflows(temporal, ids, 120_000);
    const missing = missingDeliveries(stack, rows.map((r) => r.id));
    const lost = rows.length * JOBS_PER_ORDER - ids.length + outcome.open.length + outcome.dead + missing.length;
    const duplicates = duplicatesNow(stack) - duplicatesBefore;
    const skipped = stack.workerEvents.filter((e) => e.event === 'effect.already_sent').length - skippedBefore;
    totalLost += lost;
    totalDuplicates += duplicates;
    record({
      scenario: 'worker kill -9',
      round: `${round}/${ROUNDS}`,
      fault: `SIGKILL worker at ${killAt} ms`,
      jobs: rows.length * JOBS_PER_ORDER,
      completed: outcome.completed,
      dead: outcome.dead,
      lost,
      duplicates,
      note: `${deliveredAtKill}/${rows.length * JOBS_PER_ORDER} delivered before the kill; ledger skipped ${skipped} re-send(s)${outcome.reasons[0] ? `; ${outcome.reasons[0]}` : ''}`,
    });
  }
  expect(totalLost).toBe(0);
  expect(totalDuplicates).toBe(0);
});
