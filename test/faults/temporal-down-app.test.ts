/**
 * Temporal stopped while the app keeps committing and calling afterCommit for 30 s, then started again:
 * no call waits longer than the start deadline (plus the one INSERT that hands the event to the outbox),
 * and every committed event's jobs run exactly once — the ones Temporal could not take are started by the
 * worker's relay when it is back. The p99 of afterCommit with Temporal up is measured beside it.
 */
import { createJobClient } from '../../src';
import { DEFAULT_START_DEADLINE_MS } from '../../src/client/start';
import { loadRuntimeConfig } from '../../src/config';
import { createMemoryLogger } from '../../src/log';
import {
  artifact,
  duplicatesOf,
  insertOrders,
  JOBS_PER_ORDER,
  log,
  missingDeliveries,
  record,
  sleep,
  startStack,
  waitForWorkflows,
  type Stack,
} from './harness';

const DOWN_MS = 30_000;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ name: 'temporal-down-app' });
  await stack.startWorker().ready;
});

afterAll(async () => {
  await stack?.stop();
});

function p(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((q / 100) * sorted.length) - 1)] ?? NaN;
}

test('Temporal down for 30 s while the app calls afterCommit: no call waits past the deadline, 0 lost, 0 duplicated', async () => {
  const config = loadRuntimeConfig(stack.configPath, { environment: 'development' });
  const logger = createMemoryLogger();
  const app = createJobClient({ artifact, config, logger, database: stack.pool });
  const workflowIds: string[] = [];
  const orderIds: unknown[] = [];
  /** One request: commit an order, then afterCommit with the transaction's id; the call is timed. */
  async function request(note: string): Promise<number> {
    const [row] = await insertOrders(stack.pool, 1, note);
    const t0 = performance.now();
    const jobs = await app.afterCommit('Order', 'create', row, { transactionId: `${row.id}` });
    const took = performance.now() - t0;
    orderIds.push(row.id);
    workflowIds.push(...jobs.map((j) => j.workflowId));
    expect(jobs).toHaveLength(JOBS_PER_ORDER);
    return took;
  }
  try {
    // The client's first call connects (and may miss the deadline on a busy machine): not measured.
    for (let i = 0; i < 3; i++) await request('warm-up');
    await sleep(1500);
    const up: number[] = [];
    for (let i = 0; i < 40; i++) up.push(await request('up'));

    await stack.stopTemporal();
    const down: number[] = [];
    const until = Date.now() + DOWN_MS;
    // a few requests a second, each on its own: what a small app does
    while (Date.now() < until) {
      down.push(await request('down'));
      await sleep(250);
    }
    await stack.startTemporal();
    const afterUp: number[] = [];
    for (let i = 0; i < 10; i++) afterUp.push(await request('back up'));

    const outcome = await waitForWorkflows(await stack.temporalClient(), workflowIds, 240_000);
    const missing = missingDeliveries(stack, orderIds);
    const lost = outcome.open.length + outcome.dead + missing.length;
    const duplicates = duplicatesOf(stack, orderIds);
    const deferred = logger.records.filter((r) => r.event === 'hook.start_deferred').length;
    const figures = {
      after_commit_p99_ms_temporal_up: +p(up, 99).toFixed(1),
      after_commit_p50_ms_temporal_down: +p(down, 50).toFixed(1),
      after_commit_p99_ms_temporal_down: +p(down, 99).toFixed(1),
      after_commit_max_ms_temporal_down: +Math.max(...down).toFixed(1),
      calls_while_down: down.length,
    };
    log(`temporal down, app calling afterCommit: ${JSON.stringify(figures)}`);
    record({
      scenario: 'temporal down, app commits',
      round: '1/1',
      fault: `dev server stopped ${DOWN_MS / 1000} s while the app calls afterCommit, then started`,
      jobs: workflowIds.length,
      completed: outcome.completed,
      dead: outcome.dead,
      lost,
      duplicates,
      note: `${down.length} calls while down, ${deferred} events to the outbox; afterCommit p99 up ${figures.after_commit_p99_ms_temporal_up} ms, down ${figures.after_commit_p99_ms_temporal_down} ms (p50 ${figures.after_commit_p50_ms_temporal_down}, max ${figures.after_commit_max_ms_temporal_down} ms)`,
    });
    expect(down.length).toBeGreaterThan(10);
    expect(deferred).toBeGreaterThan(0);
    expect(logger.records.filter((r) => r.event === 'hook.start_lost')).toEqual([]);
    // The deadline, plus the INSERT that hands the event to the outbox, at worst (the requests that probe
    // whether Temporal is back); most go to the outbox without trying.
    expect(Math.max(...down)).toBeLessThan(DEFAULT_START_DEADLINE_MS + 250);
    expect(figures.after_commit_p99_ms_temporal_down).toBeLessThan(50);
    expect(lost).toBe(0);
    expect(duplicates).toBe(0);
    expect(outcome.completed).toBe(workflowIds.length);
  } finally {
    await app.close();
  }
});
