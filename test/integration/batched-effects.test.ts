/**
 * A job with more targets than the batch threshold runs them in batches (runBatch, in a part workflow), with
 * the outcomes of one activity per target: each target once, a transient failure retried in the next round
 * after its backoff, a permanent one dead with its reason, and a batch that dies after some sends does not
 * send them again. Real HTTP server on 127.0.0.1.
 */
import type { JobHandler } from '../../src/effects/build';
import type { JobStatus } from '../../src/workflows/state';
import { compiled, artifact as newArtifact } from '../support/artifact-builder';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startHttpSink, type HttpSink } from '../support/sinks';
import { outcome, recordHistory, startTestStack, temporal, testConfig, type TestStack } from '../support/stack';

const PER_LIST = 120;
const BATCH = 10;

const artifact = compiled(
  newArtifact()
    .entity('List', 'lists', ['title'])
    .entity('Subscriber', 'subscribers', ['mode'])
    .many('List', 'subscribers', 'Subscriber')
    .job('ping_subscribers', 'List', 'List.subscribers', { capabilities: ['http.post'] })
    .hook('List', 'update', ['ping_subscribers']),
);

let db: TestDatabase;
let http: HttpSink;
let pipeline: TestStack;
/**
 * The first attempt at a `hang` subscriber never finishes building its request, so its batch times out as a
 * whole after the others' sends were confirmed: a batch attempt lost as a killed worker's would be. (A hung
 * send would not do: a send is bounded by its own timeout.) Failed once the test is done with it.
 */
let hung: ((err: Error) => void) | undefined;
let hangStarted = false;

beforeAll(async () => {
  db = await createTestDatabase('batched');
  // Each list is one job; `mode` says how that subscriber goes: ok, flaky (500 once), bad (400), hang (above).
  await db.pool.query(`
    CREATE TABLE lists (id integer PRIMARY KEY, title text);
    CREATE TABLE subscribers (id serial PRIMARY KEY, list_id integer REFERENCES lists(id), mode text);
    INSERT INTO lists (id, title) VALUES (1, 'plain'), (2, 'flaky'), (3, 'bad'), (4, 'hang'), (5, 'small');
    INSERT INTO subscribers (list_id, mode)
      SELECT l, CASE WHEN g = 25 AND l = 2 THEN 'flaky' WHEN g = 25 AND l = 3 THEN 'bad' WHEN g = 25 AND l = 4 THEN 'hang' ELSE 'ok' END
      FROM generate_series(1, 4) l, generate_series(1, ${PER_LIST}) g ORDER BY l, g;
    INSERT INTO subscribers (list_id, mode) SELECT 5, 'ok' FROM generate_series(1, 3);`);
  // requests go to /ping/<mode>/<subscriber id>
  http = await startHttpSink({
    answer: ({ path, n }) => {
      const mode = path.split('/')[2];
      if (mode === 'flaky' && n === 1) return 500;
      if (mode === 'bad') return { status: 400, body: 'no such subscriber' };
      return 204;
    },
  });
  const config = testConfig('batched', { http: { allow: ['127.0.0.1'] }, jobs: { max_attempts: 3, timeout: '5s' } });
  const handlers: Record<string, JobHandler> = {
    ping_subscribers: async ({ target }) => {
      if (target.mode === 'hang' && !hangStarted) {
        hangStarted = true;
        await new Promise((_, reject) => (hung = reject));
      }
      return { capability: 'http.post', url: `${http.url}/ping/${target.mode}/${target.id}` };
    },
  };
  // 20 effects in flight: two batches of 10 at a time.
  pipeline = await startTestStack({
    artifact,
    config,
    pool: db.pool,
    handlers,
    policy: { batchSize: BATCH, batchThreshold: 50, concurrency: 20 },
  });
});

afterAll(async () => {
  hung?.(new Error('the test is over'));
  await pipeline?.stop();
  await http?.close();
  await db?.drop();
});

async function runList(id: number) {
  const {
    rows: [list],
  } = await db.pool.query('SELECT * FROM lists WHERE id = $1', [id]);
  const [started] = await pipeline.client.afterCommit('List', 'update', list);
  const result = await outcome(started.workflowId);
  const handle = (await temporal()).workflow.getHandle(started.workflowId);
  const status = await handle.query<JobStatus>('status');
  const history = await handle.fetchHistory();
  const part = await (
    await temporal()
  ).workflow
    .getHandle(`${started.workflowId}/part-0`)
    .fetchHistory()
    .catch(() => undefined);
  const { rows } = await db.pool.query<{ id: number; mode: string }>('SELECT id, mode FROM subscribers WHERE list_id = $1 ORDER BY id', [
    id,
  ]);
  const paths = rows.map((r) => `/ping/${r.mode}/${r.id}`);
  const special = rows.find((r) => r.mode !== 'ok');
  return { workflowId: started.workflowId, result, status, history, part, paths, special };
}

type History = Awaited<ReturnType<typeof runList>>['history'];

/** The activities a workflow scheduled: type and decoded input. */
function scheduled(history: History): Array<{ type: string; input: Record<string, unknown> }> {
  return (history.events ?? [])
    .map((e) => e.activityTaskScheduledEventAttributes)
    .filter((a): a is NonNullable<typeof a> => !!a)
    .map((a) => ({ type: a.activityType!.name!, input: JSON.parse(Buffer.from(a.input!.payloads![0].data!).toString()) }));
}

/** The `paged-fanout` patch marker (local activities record markers too: reportJob). */
function patchMarked(history: History): boolean {
  return (history.events ?? []).some((e) => {
    const marker = e.markerRecordedEventAttributes;
    if (marker?.markerName !== 'core_patch') return false;
    const payloads = Object.values(marker.details ?? {}).flatMap((p) => p.payloads ?? []);
    return payloads.some((p) => Buffer.from(p.data!).toString().includes('paged-fanout'));
  });
}

const hitCount = (path: string) => http.hitsTo(path).length;

test('a batched job delivers each target exactly once, a batch per activity', async () => {
  const run = await runList(1);
  expect(run.result.state).toBe('completed');
  expect(run.result.result).toMatchObject({ targets: PER_LIST, completed: PER_LIST, dead: [] });
  expect(run.paths.map(hitCount)).toEqual(run.paths.map(() => 1));
  const keys = new Set(run.paths.map((p) => http.hitsTo(p)[0].key));
  expect(keys.size).toBe(PER_LIST);
  expect(scheduled(run.history).map((a) => a.type)).toEqual(['resolveTargets']);
  const activities = scheduled(run.part!);
  expect(activities.filter((a) => a.type === 'runBatch')).toHaveLength(PER_LIST / BATCH);
  expect(activities.filter((a) => a.type === 'runEffect')).toHaveLength(0);
  // The record by reference: no input carries it, the job run's id says where it is.
  expect(activities.every((a) => a.input.record === undefined && (a.input.jobRef as { runId?: string }).runId)).toBe(true);
  expect(patchMarked(run.history)).toBe(true);
});

test('a job at or below the threshold keeps one activity per target, the record by reference', async () => {
  const run = await runList(5);
  expect(run.result.state).toBe('completed');
  expect(run.part).toBeUndefined();
  const activities = scheduled(run.history);
  expect(activities.filter((a) => a.type === 'runEffect')).toHaveLength(3);
  expect(activities.filter((a) => a.type === 'runBatch')).toHaveLength(0);
  expect(activities.every((a) => a.input.record === undefined)).toBe(true);
  expect(patchMarked(run.history)).toBe(true);
  await recordHistory('paged-small', run.workflowId);
});

test('a target failing transiently in its batch is retried in the next round, after its backoff, and completes', async () => {
  const run = await runList(2);
  expect(run.result.state).toBe('completed');
  expect(run.result.result).toMatchObject({ targets: PER_LIST, completed: PER_LIST, dead: [] });
  const flaky = `/ping/flaky/${run.special!.id}`;
  const [first, second] = http.hitsTo(flaky);
  expect(hitCount(flaky)).toBe(2);
  expect(second.key).toBe(first.key);
  expect(second.at - first.at).toBeGreaterThanOrEqual(950); // attempt 1 failed: 1² s plus jitter
  expect(run.paths.filter((p) => p !== flaky).map(hitCount)).toEqual(run.paths.slice(1).map(() => 1));

  // The round: one timer, one batch of that target only, on its second attempt.
  const round = scheduled(run.part!).filter((a) => a.type === 'runBatch' && 'targetIds' in (a.input.unit as object));
  expect(round).toHaveLength(1);
  expect(round[0].input).toMatchObject({ unit: { targetIds: [run.special!.id] }, attempt: 2, maxAttempts: 3 });
  expect(run.part!.events!.filter((e) => e.timerStartedEventAttributes)).toHaveLength(1);
  // The failed attempt was counted (the part's signal) and logged as for a target without a batch.
  expect(run.status.failedAttempts).toBe(1);
  expect(pipeline.logs.find((r) => r.event === 'job.failed' && r.job_id === run.workflowId)).toMatchObject({
    target_id: run.special!.id,
    attempt: 1,
    max_attempts: 3,
  });
  await recordHistory('paged-retry', run.workflowId);
  await recordHistory('paged-retry', `${run.workflowId}/part-0`, 'jobPartWorkflow');
});

test('a permanently failing target is dead with its reason at once, and stored; the others complete', async () => {
  const run = await runList(3);
  expect(run.result.state).toBe('dead');
  expect(run.result.failure).toMatch(/400/);
  const bad = `/ping/bad/${run.special!.id}`;
  expect(hitCount(bad)).toBe(1);
  expect(run.paths.map(hitCount)).toEqual(run.paths.map(() => 1));
  expect(run.status).toMatchObject({ state: 'dead', targets: PER_LIST, completed: PER_LIST - 1, dead: 1, failedAttempts: 0 });
  expect(run.status.deadTargets).toEqual([
    { target: run.special!.id, reason: expect.stringMatching(/400/), type: 'PermanentError', attempts: 1 },
  ]);
  const { rows } = await db.pool.query('SELECT target, type, attempts FROM forge_jobs.dead_targets WHERE workflow_id = $1', [
    run.workflowId,
  ]);
  expect(rows).toEqual([{ target: String(run.special!.id), type: 'PermanentError', attempts: 1 }]);
  await recordHistory('paged-dead', run.workflowId);
});

test('a batch that fails as a whole does not send again what it had sent: the sent-ledger answers', async () => {
  const run = await runList(4);
  hung?.(new Error('the batch was given up'));
  expect(run.result.state).toBe('completed');
  expect(run.result.result).toMatchObject({ targets: PER_LIST, completed: PER_LIST, dead: [] });
  // The hung target timed its batch out; Temporal ran the batch again.
  expect(
    run.part!.events!.some((e) => e.activityTaskTimedOutEventAttributes || (e.activityTaskStartedEventAttributes?.attempt ?? 1) > 1),
  ).toBe(true);
  expect(run.paths.map(hitCount)).toEqual(run.paths.map(() => 1));
  // Every target of that batch but the hung one had its send confirmed before the batch died.
  const skipped = pipeline.logs.filter((r) => r.event === 'effect.already_sent' && r.job_id === run.workflowId);
  expect(skipped).toHaveLength(BATCH - 1);
  expect(skipped.map((r) => r.target_id)).not.toContain(run.special!.id);
}, 60_000);
