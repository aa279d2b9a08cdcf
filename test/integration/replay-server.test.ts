/**
 * `forge-jobs replay --from-server` on the run's dev server: histories recorded here with the current code
 * pass; a workflow change without a patch fails with the workflow id and the first mismatching event (exit 1);
 * the same change behind `patched()` passes; an unreachable server exits 2.
 */
import { join } from 'node:path';
import { WORKFLOW_TYPES } from '../../src/names';
import * as workflows from '../../src/workflows';
import { compiled, artifact as newArtifact } from '../support/artifact-builder';
import { ROOT, address, ensureBuilt, run } from '../support/cli';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startHttpSink, type HttpSink } from '../support/sinks';
import { outcome, startTestStack, testConfig, type TestStack } from '../support/stack';

const FIXTURES = join(ROOT, 'test', 'fixtures', 'workflows');
const artifact = compiled(
  newArtifact()
    .entity('Note', 'notes', ['text'])
    .job('ping', 'Note', '', { capabilities: ['http.post'] })
    .hook('Note', 'create', ['ping']),
);

let db: TestDatabase;
let http: HttpSink;
let pipeline: TestStack;
let taskQueue: string;
const ids: string[] = [];

beforeAll(async () => {
  ensureBuilt();
  db = await createTestDatabase('replay_server');
  await db.pool.query('CREATE TABLE notes (id serial PRIMARY KEY, text text)');
  http = await startHttpSink();
  const config = testConfig('replay-server', { http: { allow: ['127.0.0.1'] }, jobs: { ping: { url: `${http.url}/{{trigger.text}}` } } });
  taskQueue = config.jobs.taskQueue;
  pipeline = await startTestStack({ artifact, config, pool: db.pool });
  for (const text of ['a', 'b', 'c']) {
    const { rows } = await db.pool.query('INSERT INTO notes (text) VALUES ($1) RETURNING *', [text]);
    const [started] = await pipeline.client.afterCommit('Note', 'create', rows[0]);
    ids.push(started.workflowId);
  }
  for (const id of ids) expect((await outcome(id)).state).toBe('completed');
}, 120_000);

afterAll(async () => {
  await pipeline?.stop();
  await http?.close();
  await db?.drop();
});

const replay = (...extra: string[]) =>
  run(['replay', '--from-server', '--address', address(), '--query', `TaskQueue = "${taskQueue}"`, ...extra], { timeoutMs: 90_000 });

test('the workflow types replay covers are exactly the ones the worker registers', () => {
  expect([...WORKFLOW_TYPES].sort()).toEqual(Object.keys(workflows).sort());
});

test('histories recorded with the current code replay clean', async () => {
  const result = await replay('--json');
  expect(result.code).toBe(0);
  const summary = JSON.parse(result.stdout);
  expect(summary).toMatchObject({ ok: true, replayed: ids.length, passed: ids.length, failed: 0 });
  expect(summary.histories_per_minute).toBeGreaterThan(0);
});

test('a change without a patch fails: one line per history naming the workflow and the mismatching event, exit 1', async () => {
  const result = await replay('--workflows', join(FIXTURES, 'unpatched.ts'));
  expect(result.code).toBe(1);
  const failures = result.stdout.split('\n').filter((l) => l.startsWith('FAIL '));
  expect(failures).toHaveLength(ids.length);
  for (const id of ids) {
    const line = failures.find((l) => l.startsWith(`FAIL ${id} `));
    // core names the first event that no longer matches: "HistoryEvent(id: 5, …)" or, for a renamed command, ours
    expect(line).toMatch(/jobWorkflow\): nondeterminism: .*(HistoryEvent\(id: \d+, \w+\)|history event \d+ \w+)/);
  }
  expect(result.stdout).toMatch(new RegExp(`replayed ${ids.length}: 0 passed, ${ids.length} failed`));
  expect(result.stderr).toMatch(/forge-jobs replay: 3 of 3 histories nondeterministic/);
});

test('the same change behind patched() passes', async () => {
  const result = await replay('--workflows', join(FIXTURES, 'patched.ts'), '--parallel', '2');
  expect(result.stderr).not.toMatch(/forge-jobs replay:/);
  expect(result.code).toBe(0);
  expect(result.stdout).toMatch(new RegExp(`replayed ${ids.length}: ${ids.length} passed, 0 failed`));
});

test('--limit bounds the runs replayed; bad flags are refused with exit 1', async () => {
  const limited = await replay('--limit', '2', '--json');
  expect(JSON.parse(limited.stdout)).toMatchObject({ replayed: 2, passed: 2 });
  const bad = await replay('--parallel', 'many');
  expect(bad.code).toBe(1);
  expect(bad.stderr).toMatch(/--parallel must be a whole number/);
});

test('an unreachable server exits 2 with one line', async () => {
  const result = await run(['replay', '--from-server', '--address', '127.0.0.1:1'], { timeoutMs: 60_000 });
  expect(result.code).toBe(2);
  expect(result.stderr.trim().split('\n').pop()).toMatch(/^forge-jobs replay: cannot reach Temporal at 127\.0\.0\.1:1/);
});
