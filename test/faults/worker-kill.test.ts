/**
 * kill -9 the worker in the middle of a burst of effects, for many rounds: every job completes, and no
 * email or POST reaches its sink twice (counted by Message-ID and Idempotency-Key).
 *
 * What protects against duplicates: the worker's email and HTTP sends run in its courier (src/courier), a
 * child process in a group of its own that writes each send's sent-ledger row before it answers. The kill
 * takes the worker, not the courier: a send in flight finishes and is recorded, the courier exits, and
 * Temporal's retry of the lost attempt (after the effect timeout) finds the row and skips the send
 * (`effect.already_sent`). The table's note says how many sends each killed worker's courier finished
 * after the kill and how many re-sends the ledger skipped; the test ends with no courier process left.
 */
import { waitForExit } from '../../src/dev/process-tree';
import {
  duplicatesNow,
  duplicatesOf,
  insertOrders,
  JOBS_PER_ORDER,
  missingDeliveries,
  record,
  sleep,
  startStack,
  waitForWorkflows,
  type Stack,
  type WorkerProcess,
} from './harness';

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

interface Round {
  rows: Array<Record<string, unknown>>;
  ids: string[];
  killAfterMs: number;
  deliveredAtKill: number;
  skippedBefore: number;
  /** the courier of the worker this round killed */
  courierPid: number;
}

/** The courier of the worker that just became ready: the worker logs `courier.started` before `executor.started`. */
function latestCourierPid(): number {
  const started = stack.workerEvents.filter((e) => e.event === 'courier.started');
  const pid = Number(started.at(-1)?.pid);
  if (!pid) throw new Error('the worker started no courier: its email and HTTP sends would run in-process');
  return pid;
}

test(`kill -9 the worker during effects, ${ROUNDS} rounds: every job completes, no duplicate delivery`, async () => {
  const temporal = await stack.temporalClient();
  const rounds: Round[] = [];
  // Rounds run back to back: each burst lands on a worker that is still retrying the previous round's
  // lost attempts, and is killed in the middle of it.
  for (let round = 1; round <= ROUNDS; round++) {
    const skippedBefore = stack.workerEvents.filter((e) => e.event === 'effect.already_sent').length;
    const deliveredBefore = stack.smtp.total() + stack.http.total();
    const rows = await insertOrders(stack.pool, BURST, `round ${round}`);
    const starts = await Promise.all(rows.map((row) => stack.client.afterCommit('Order', 'create', row)));
    const ids = starts.flat().map((s) => s.workflowId);
    const killAfterMs = 300 + Math.floor(Math.random() * 1700);
    await sleep(killAfterMs);
    const deliveredAtKill = stack.smtp.total() + stack.http.total() - deliveredBefore;
    const courierPid = latestCourierPid();
    await worker.kill9();
    worker = stack.startWorker();
    await worker.ready;
    rounds.push({ rows, ids, killAfterMs, deliveredAtKill, skippedBefore, courierPid });
  }
  // An activity lost with a killed worker is retried after its start-to-close timeout (the job's [jobs] timeout).
  const outcome = await waitForWorkflows(
    temporal,
    rounds.flatMap((r) => r.ids),
    180_000,
  );
  let totalLost = 0;
  // What a killed worker's courier did after the kill is on the worker's stderr, which it inherited.
  const finishedBy = (pid: number) => stack.workerEvents.filter((e) => e.event === 'courier.send_finished' && e.courier_pid === pid).length;
  rounds.forEach((r, i) => {
    const next = rounds[i + 1]?.skippedBefore ?? stack.workerEvents.filter((e) => e.event === 'effect.already_sent').length;
    const closed = r.ids.map((id) => outcome.statuses.get(id));
    const completed = closed.filter((c) => c?.status === 'COMPLETED').length;
    const dead = closed.filter((c) => c?.status === 'FAILED').length;
    const open = closed.filter((c) => c === undefined).length;
    const missing = missingDeliveries(
      stack,
      r.rows.map((row) => row.id),
    );
    const lost = r.rows.length * JOBS_PER_ORDER - r.ids.length + open + dead + missing.length;
    totalLost += lost;
    record({
      scenario: 'worker kill -9',
      round: `${i + 1}/${ROUNDS}`,
      fault: `SIGKILL worker ${r.killAfterMs} ms into a burst`,
      jobs: r.rows.length * JOBS_PER_ORDER,
      completed,
      dead,
      lost,
      duplicates: duplicatesOf(
        stack,
        r.rows.map((row) => row.id),
      ),
      ledgerSkips: next - r.skippedBefore,
      note: `${r.deliveredAtKill} sends before the kill; its courier finished ${finishedBy(r.courierPid)} in flight; ledger skipped ${next - r.skippedBefore} re-send(s)`,
    });
  });
  expect(totalLost).toBe(0);
  // Counted by key over the whole run (Message-ID at the SMTP sink, Idempotency-Key at the HTTP sink).
  expect(duplicatesNow(stack)).toBe(0);
  // Every killed worker's courier finished and exited; so does the last one when its worker stops.
  const lastCourier = latestCourierPid();
  await worker.stop();
  for (const pid of [...rounds.map((r) => r.courierPid), lastCourier])
    expect({ pid, exited: await waitForExit(pid, 15_000) }).toEqual({ pid, exited: true });
});
