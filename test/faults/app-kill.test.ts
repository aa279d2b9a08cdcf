/**
 * kill -9 the app between commit and dispatch: the app commits orders with client.enqueue (outbox) and is
 * SIGKILLed mid-stream; the relay inside the worker starts every committed event's jobs. 0 lost.
 * Round 1 with the worker (and its relay) running; round 2 with the worker down while the app commits and
 * dies, started afterwards.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import {
  duplicatesOf,
  JOBS_PER_ORDER,
  missingDeliveries,
  record,
  sleep,
  startStack,
  waitForWorkflows,
  workflowIdsOf,
  type Stack,
  type WorkerProcess,
} from './harness';

let stack: Stack;
let worker: WorkerProcess | undefined;

beforeAll(async () => {
  stack = await startStack({ name: 'app-kill' });
  worker = stack.startWorker();
  await worker.ready; // runs the migrations (outbox table) before the app writes to it
});

afterAll(async () => {
  await stack?.stop();
});

/** Runs the app until it has printed `commits` commits plus a random few ms, then SIGKILLs it. */
async function runAndKillApp(commits: number): Promise<{ printed: number }> {
  const app = spawn(process.execPath, [join(__dirname, 'app.js'), stack.artifactPath, stack.configPath, stack.dbUrl], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FORGE_CODEC_KEY: '' },
  });
  let printed = 0;
  let stderr = '';
  app.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<void>((r) => app.once('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: app.stdout! }).on('line', (line) => {
      if (line.startsWith('committed ')) printed++;
      // Killed right after a commit (often before its line is even read): between commit and dispatch.
      if (printed === commits) setTimeout(() => resolve(), Math.floor(Math.random() * 5));
    });
    app.once('exit', (code) => (printed < commits ? reject(new Error(`app exited (${code}) early: ${stderr}`)) : undefined));
  });
  app.kill('SIGKILL');
  await exited;
  return { printed };
}

/** What Postgres says was committed by the app (the truth), with each event's id from the outbox. */
async function committedByApp(): Promise<Array<{ row: Record<string, unknown>; eventId: string }>> {
  const { rows } = await stack.pool.query(
    `SELECT o.*, x.event_id FROM orders o JOIN forge_jobs.outbox x ON x.entity = 'Order' AND (x.record->>'id')::int = o.id WHERE o.note = 'app' ORDER BY o.id`,
  );
  return rows.map(({ event_id, ...row }) => ({ row, eventId: event_id as string }));
}

test('kill -9 the app after commit, before dispatch: the relay starts every committed event (0 lost)', async () => {
  const temporal = await stack.temporalClient();
  let totalLost = 0;
  let done = 0;
  const settle = async (round: number, fault: string, printed: number, note = '') => {
    const all = await committedByApp();
    const group = all.filter((c) => Number(c.row.id) > done);
    done = Math.max(done, ...group.map((c) => Number(c.row.id)));
    const ids = group.flatMap((c) => workflowIdsOf(c.row, c.eventId));
    const outcome = await waitForWorkflows(temporal, ids, 120_000);
    const missing = missingDeliveries(
      stack,
      group.map((c) => c.row.id),
    );
    const lost = outcome.open.length + outcome.dead + missing.length;
    totalLost += lost;
    record({
      scenario: 'app kill -9',
      round: `${round}/2`,
      fault,
      jobs: group.length * JOBS_PER_ORDER,
      completed: outcome.completed,
      dead: outcome.dead,
      lost,
      duplicates: duplicatesOf(
        stack,
        group.map((c) => c.row.id),
      ),
      note: `${group.length} orders committed, ${printed} acknowledged to the app before its kill${note}`,
    });
    return group.length;
  };

  const first = await runAndKillApp(25);
  const n1 = await settle(1, 'SIGKILL app mid-stream, relay running', first.printed);

  await worker!.kill9();
  worker = undefined;
  const second = await runAndKillApp(25);
  const { rows: pending } = await stack.pool.query(`SELECT count(*)::int AS n FROM forge_jobs.outbox WHERE dispatched_at IS NULL`);
  await sleep(200);
  worker = stack.startWorker();
  await worker.ready;
  const n2 = await settle(
    2,
    'SIGKILL app, worker+relay down, started after',
    second.printed,
    `; ${pending[0].n} outbox rows waited for the relay`,
  );

  // Every order the app committed has its outbox row: they are written in one transaction.
  const { rows: orphans } = await stack.pool.query(
    `SELECT count(*)::int AS n FROM orders o WHERE o.note = 'app' AND NOT EXISTS (SELECT 1 FROM forge_jobs.outbox x WHERE (x.record->>'id')::int = o.id)`,
  );
  expect(orphans[0].n).toBe(0);
  expect(n1 + n2).toBeGreaterThanOrEqual(50);
  expect(totalLost).toBe(0);
});
