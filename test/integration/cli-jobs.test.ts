/**
 * `forge-jobs jobs dead | retry | stats | show`: the built CLI (node bin/forge-jobs.js) against the shared dev
 * server, as tables and as --json, and its one-line errors on bad input.
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compiled, artifact as newArtifact } from '../support/artifact-builder';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startHttpSink, type HttpSink } from '../support/sinks';
import { eventually, outcome, startTestStack, temporalAddress, testConfig, type TestStack } from '../support/stack';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'forge-jobs.js');

const artifact = compiled(
  newArtifact()
    .entity('Note', 'notes', ['path'])
    .job('ping', 'Note', '', { capabilities: ['http.post'] })
    .hook('Note', 'create', ['ping']),
);

let db: TestDatabase;
let http: HttpSink;
let pipeline: TestStack;
let queue: string;
let deadId: string;
let fixed = false;

/** Builds dist when it is missing or older than the sources this file tests (npm test builds first anyway). */
function ensureBuilt(): void {
  const out = join(ROOT, 'dist', 'cli', 'jobs.js');
  const sources = ['src/cli/jobs.ts', 'src/cli/table.ts', 'src/client/inspect.ts', 'src/client/stats.ts'].map((f) => join(ROOT, f));
  const stale = !existsSync(out) || sources.some((s) => statSync(s).mtimeMs > statSync(out).mtimeMs);
  if (!stale) return;
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], {
      stdio: 'ignore',
    });
  } catch {
    // type errors elsewhere still emit JavaScript; the existence check below decides
  }
  if (!existsSync(out)) throw new Error('dist/cli/jobs.js is missing: run npm run build');
}

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args],
      { cwd: ROOT, env: { ...process.env, FORGE_ENV: 'test' }, timeout: 30000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

const target = () => ['--address', temporalAddress(), '--task-queue', queue];

beforeAll(async () => {
  ensureBuilt();
  db = await createTestDatabase('cli_jobs');
  await db.pool.query('CREATE TABLE notes (id serial PRIMARY KEY, path text)');
  http = await startHttpSink({ answer: ({ path }) => (path.startsWith('/bad') && !fixed ? 400 : 200) });
  const config = testConfig('cli-jobs', { http: { allow: ['127.0.0.1'] }, jobs: { ping: { url: `${http.url}/{{trigger.path}}` } } });
  queue = config.jobs.taskQueue;
  pipeline = await startTestStack({ artifact, config, pool: db.pool });
  const note = async (path: string) => (await db.pool.query('INSERT INTO notes (path) VALUES ($1) RETURNING *', [path])).rows[0];
  const [ok] = await pipeline.client.afterCommit('Note', 'create', await note('ok'));
  const [bad] = await pipeline.client.afterCommit('Note', 'create', await note('bad'));
  deadId = bad.workflowId;
  expect((await outcome(ok.workflowId)).state).toBe('completed');
  expect((await outcome(deadId)).state).toBe('dead');
  await eventually(
    async () => (await pipeline.inspector.deadJobs()).length === 1 && (await pipeline.inspector.stats()).total_completed === 1,
  );
});

afterAll(async () => {
  await pipeline?.stop();
  await http?.close();
  await db?.drop();
});

test('jobs dead: a table, and --json', async () => {
  const table = await cli('jobs', 'dead', ...target());
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/JOB\s+ENTITY\s+OP\s+RECORD\s+REASON\s+ATTEMPTS/);
  expect(table.stdout).toContain(deadId);
  expect(table.stdout).toMatch(/PermanentError/);
  expect(table.stdout).toMatch(/1 dead job/);

  const json = await cli('jobs', 'dead', ...target(), '--json');
  expect(json.code).toBe(0);
  const { dead } = JSON.parse(json.stdout);
  expect(dead).toEqual([
    expect.objectContaining({
      workflowId: deadId,
      job: 'ping',
      entity: 'Note',
      operation: 'create',
      reason: 'PermanentError',
      attempts: 1,
    }),
  ]);
  expect(dead[0].lastError).toMatch(/400/);

  expect(JSON.parse((await cli('jobs', 'dead', ...target(), '--job', 'other', '--json')).stdout)).toEqual({ dead: [] });
  expect((await cli('jobs', 'dead', ...target(), '--job', 'other')).stdout).toMatch(/no dead jobs on task queue/);
});

test('jobs stats: a table, and --json', async () => {
  const json = await cli('jobs', 'stats', ...target(), '--database', db.url, '--json');
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout)).toMatchObject({
    total_enqueued: 2,
    total_completed: 1,
    total_failed: 1,
    total_dead: 1,
    total_retried: 0,
    sandbox_violations: 0,
    queue_depth: 0,
    outbox_pending: 0,
    outbox_unmatched: 0,
    outbox_dead: 0,
    task_queue: queue,
  });
  const table = await cli('jobs', 'stats', ...target());
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/total_dead\s+1/);
  expect(table.stdout).toMatch(/worker_count\s+[1-9]/);
  expect(table.stdout).toMatch(/outbox_pending\s+n\/a/);
});

test('jobs show: one job in detail', async () => {
  const table = await cli('jobs', 'show', deadId, ...target());
  expect(table.code).toBe(0);
  expect(table.stdout).toMatch(/state\s+dead \(FAILED\)/);
  expect(table.stdout).toMatch(/reason\s+PermanentError/);
  expect(table.stdout).toMatch(/runs \(1\)/);
  const json = JSON.parse((await cli('jobs', 'show', deadId, ...target(), '--json')).stdout);
  expect(json).toMatchObject({ workflowId: deadId, job: 'ping', state: 'dead', status: 'FAILED', reason: 'PermanentError' });
});

test('jobs retry: redrives, then the job completes', async () => {
  fixed = true;
  const json = await cli('jobs', 'retry', deadId, ...target(), '--json');
  expect(json.code).toBe(0);
  expect(JSON.parse(json.stdout).retried).toEqual([expect.objectContaining({ workflowId: deadId, job: 'ping' })]);
  expect((await outcome(deadId)).state).toBe('completed');

  const again = await cli('jobs', 'retry', '--job', 'ping', ...target());
  expect(again.code).toBe(0);
  await eventually(async () => /no dead jobs to retry/.test((await cli('jobs', 'retry', '--all', ...target())).stdout));
});

test('bad input: exit 1 with one clear line; --help everywhere', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['jobs', 'retry', ...target()], /nothing to retry/],
    [['jobs', 'retry', deadId, '--all', ...target()], /not both/],
    [['jobs', 'dead', '--limit', '0', ...target()], /--limit must be a positive integer/],
    [['jobs', 'dead', '--since', 'yesterday', ...target()], /--since must be/],
    [['jobs', 'show', ...target()], /missing required argument/],
    [['jobs', 'show', 'forge/none/x', ...target()], /no job workflow forge\/none\/x/],
    [['jobs', 'dead', '--bogus'], /unknown option/],
    [['jobs', 'stats', '--address', 'nowhere'], /invalid Temporal address/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(...args);
    expect({ args, code: r.code }).toEqual({ args, code: 1 });
    const lines = r.stderr.trim().split('\n');
    expect({ args, lines: lines.length }).toEqual({ args, lines: 1 });
    expect(lines[0]).toMatch(message);
  }
  for (const sub of ['dead', 'retry', 'stats', 'show']) {
    const help = await cli('jobs', sub, '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--json/);
    expect(help.stdout).toMatch(/--address/);
  }
});
