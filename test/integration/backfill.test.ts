/**
 * Backfill through the built CLI on the real dev server and Postgres: every existing row's job once, with a
 * SIGINT and a SIGKILL in the middle and the same command resuming; dry run; rate; status.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { runBackfill, resolveArtifact, startRelay, createJobStarter } from '../../src/admin';
import { createMemoryLogger } from '../../src/log';
import type { RuntimeConfig } from '../../src/config/types';
import { compiled, artifact as newArtifact } from '../support/artifact-builder';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { eventually, startTestStack, temporal, testConfig, uniqueQueue, type TestStack } from '../support/stack';

const rawArtifact = compiled(
  newArtifact()
    .entity('Note', 'notes', ['title', 'status'])
    .entity('NoteLog', 'note_logs', ['note_id', 'title'])
    .creates('log_note', 'Note', 'NoteLog', { note_id: 'data.id', title: 'data.title' })
    .hook('Note', 'create', ['log_note']),
);
const ROWS = 5000;
const SCHEMA = `
  CREATE TABLE notes (id serial PRIMARY KEY, title text, status text);
  CREATE TABLE note_logs (id serial PRIMARY KEY, note_id text, title text);`;
const CLI = join(__dirname, '..', '..', 'bin', 'forge-jobs.js');

let db: TestDatabase;
let big: TestDatabase;
let config: RuntimeConfig;
let pipeline: TestStack;
let artifactPath: string;

beforeAll(async () => {
  [db, big] = await Promise.all([createTestDatabase('backfill'), createTestDatabase('backfill_big')]);
  await Promise.all([db.pool.query(SCHEMA), big.pool.query(SCHEMA)]);
  await big.pool.query(
    `INSERT INTO notes (title, status) SELECT 'note ' || g, CASE WHEN g % 5 = 0 THEN 'closed' ELSE 'open' END FROM generate_series(1, ${ROWS}) g`,
  );
  const dir = mkdtempSync(join(tmpdir(), 'forge-backfill-'));
  artifactPath = join(dir, 'artifact.json');
  writeFileSync(artifactPath, JSON.stringify(rawArtifact));
  config = testConfig('backfill');
  pipeline = await startTestStack({ artifact: rawArtifact, config, pool: db.pool });
});

afterAll(async () => {
  await pipeline?.stop();
  await Promise.all([db?.drop(), big?.drop()]);
});

interface Run {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  /** resolves at the first progress line with done >= n */
  reached(n: number): Promise<void>;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function backfill(args: string[], database = big.url): Run {
  const child = spawn(process.execPath, [CLI, 'backfill', ...args, '--artifact', artifactPath, '--database', database], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  createInterface({ input: child.stdout! }).on('line', (line) => {
    stdout += line + '\n';
    try {
      const value = JSON.parse(line);
      lines.push(value);
      for (const w of waiters.filter((w) => Number(value.done) >= w.n)) w.resolve();
    } catch {
      // a plain-text line
    }
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => setImmediate(() => resolve({ code, signal, stdout, stderr }))),
  );
  return { child, lines, exit, reached: (n) => new Promise((resolve) => waiters.push({ n, resolve })) };
}

// First: the big backfill below leaves the dev server busy with its 5,000 starts for a while.
test('the backfilled jobs run once per existing row, with the row', async () => {
  await db.pool.query(`INSERT INTO notes (title, status) SELECT 'existing ' || g, 'open' FROM generate_series(1, 25) g`);
  const artifact = resolveArtifact(rawArtifact, config);
  const result = await runBackfill({ pool: db.pool, artifact, job: 'log_note', maxRecordBytes: 4096, pageSize: 10 });
  expect(result).toEqual(expect.objectContaining({ state: 'finished', done: 25, written: 25 }));
  await eventually(async () => (await db.pool.query('SELECT count(*)::int AS n FROM note_logs')).rows[0].n >= 25, 60000, '25 jobs ran');
  const { rows } = await db.pool.query('SELECT note_id, title FROM note_logs ORDER BY note_id::int');
  expect(rows).toEqual(Array.from({ length: 25 }, (_, i) => ({ note_id: String(i + 1), title: `existing ${i + 1}` })));
  const { count } = await (await temporal()).workflow.count(`TaskQueue = "${config.jobs.taskQueue}"`);
  expect(count).toBe(25);
}, 120000);

test(`a backfill of ${ROWS} rows stopped by Ctrl-C, then killed, then resumed starts every row's job exactly once`, async () => {
  // Ctrl-C: stops after the page in flight, says so, and exits 0
  const first = backfill(['log_note', '--json', '--rate', '2000']);
  await first.reached(1000);
  first.child.kill('SIGINT');
  const stopped = await first.exit;
  expect(stopped.code).toBe(0);
  const last = first.lines[first.lines.length - 1];
  expect(last.state).toBe('stopped');
  expect(Number(last.done)).toBeLessThan(ROWS);

  const status = await backfill(['status', '--json']).exit;
  expect(JSON.parse(status.stdout).backfills).toEqual([
    expect.objectContaining({ job: 'log_note', state: 'stopped', done: last.done, total: ROWS }),
  ]);

  // SIGKILL: no chance to record anything; the committed pages stand
  const second = backfill(['log_note', '--json', '--rate', '2000']);
  await second.reached(Number(last.done) + 1000);
  second.child.kill('SIGKILL');
  expect((await second.exit).signal).toBe('SIGKILL');
  const interrupted = JSON.parse((await backfill(['status', '--json']).exit).stdout).backfills[0];
  expect(interrupted.state).toBe('interrupted');

  const third = await backfill(['log_note', '--json']).exit;
  expect(third.code).toBe(0);
  const done = JSON.parse(third.stdout.trim().split('\n').pop()!);
  expect(done).toEqual(expect.objectContaining({ state: 'finished', done: ROWS, total: ROWS }));

  const {
    rows: [counts],
  } = await big.pool.query(
    `SELECT count(*)::int AS events, count(DISTINCT record->>'id')::int AS rows, count(DISTINCT event_id)::int AS ids,
            bool_and(jobs = ARRAY['log_note']) AS named FROM forge_jobs.outbox`,
  );
  expect(counts).toEqual({ events: ROWS, rows: ROWS, ids: ROWS, named: true });

  // the same command again starts nothing
  const again = await backfill(['log_note']).exit;
  expect(again.stdout).toMatch(/is finished \(5000 rows\); --name <name> runs it again/);
  expect((await big.pool.query('SELECT count(*)::int AS n FROM forge_jobs.outbox')).rows[0].n).toBe(ROWS);

  // the relay starts one workflow per row (on a queue no worker polls: the starts are what is counted)
  const queue = uniqueQueue('backfill-big');
  const client = createJobStarter({ artifact: rawArtifact, config, taskQueue: queue, logger: createMemoryLogger() });
  const relay = await startRelay({ pool: big.pool, client, batchSize: 500, pollIntervalMs: 200, logger: createMemoryLogger() });
  try {
    await eventually(
      async () => (await big.pool.query(`SELECT count(*)::int AS n FROM forge_jobs.outbox WHERE dispatched_at IS NULL`)).rows[0].n === 0,
      300000,
      'all dispatched',
    );
    // visibility trails the starts on a busy dev server
    let seen = 0;
    await eventually(
      async () => (seen = (await (await temporal()).workflow.count(`TaskQueue = "${queue}"`)).count) >= ROWS,
      240000,
      `${ROWS} workflows visible`,
    ).catch((err) => {
      throw new Error(`${(err as Error).message} (${seen} visible)`);
    });
    const { count } = await (await temporal()).workflow.count(`TaskQueue = "${queue}" AND ForgeJob = "log_note"`);
    expect(count).toBe(ROWS);
  } finally {
    await relay.stop();
    await client.close();
  }
}, 900000);

test('--dry-run prints the count and the first ids of the rows --where selects, writing nothing', async () => {
  const dry = await backfill(['log_note', '--dry-run', '--where', 'status == "closed" and id < 100', '--json']).exit;
  expect(dry.code).toBe(0);
  expect(JSON.parse(dry.stdout)).toEqual(
    expect.objectContaining({
      total: 19,
      firstIds: ['5', '10', '15', '20', '25', '30', '35', '40', '45', '50'],
      job: 'log_note',
      operation: 'create',
    }),
  );
  const text = await backfill(['log_note', '--dry-run', '--where', 'status == "closed" and id < 100']).exit;
  expect(text.stdout).toMatch(/19 Note rows would start log_note/);
  expect(text.stdout).toMatch(/first ids: 5, 10, 15/);

  const bad = await backfill(['log_note', '--dry-run', '--where', 'colour == "red"']).exit;
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/forge-jobs backfill: --where: Note has no field "colour"/);
});

test('--rate bounds the rows per second', async () => {
  const rate = 400;
  const started = Date.now();
  const run = await backfill(['log_note', '--where', 'id <= 1000', '--name', 'rated', '--rate', String(rate), '--json']).exit;
  const elapsed = Date.now() - started;
  expect(run.code).toBe(0);
  // 1000 rows at 400/s take at least 2.5 s
  expect(elapsed).toBeGreaterThanOrEqual((1000 / rate) * 1000);
  const last = JSON.parse(run.stdout.trim().split('\n').pop()!);
  expect(last).toEqual(expect.objectContaining({ state: 'finished', done: 1000, written: 1000 }));
  expect(last.rate).toBeLessThanOrEqual(rate);
});
