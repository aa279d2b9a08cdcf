/**
 * Inspection on the real dev server and Postgres: the dead-letter list, retry (a redrive runs only the dead
 * targets), stats from visibility (the same after a worker restart), the dev endpoints and the worker's
 * Prometheus metrics.
 */
import { startAppServer, type AppServer } from '../../src/dev/example-app';
import { createJobInspector } from '../../src/client/inspect';
import { devJobsEndpoints } from '../../src/dev/endpoints';
import { freePort } from '../../src/dev/ports';
import { migrate } from '../../src/sql/migrations';
import { writeOutboxEvent } from '../../src/outbox/enqueue';
import { compiled, artifact as newArtifact } from '../support/artifact-builder';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startHttpSink, type HttpSink } from '../support/sinks';
import { eventually, outcome, startTestStack, testConfig, type TestStack } from '../support/stack';

const artifact = compiled(
  newArtifact()
    .entity('Batch', 'batches', ['note'])
    .entity('Item', 'items', ['path'])
    .many('Batch', 'items', 'Item')
    .job('ping_items', 'Batch', 'Batch.items', { capabilities: ['http.post'] })
    .job('ping_batch', 'Batch', '', { capabilities: ['http.post'] })
    .job('sneaky', 'Batch', '', { capabilities: ['email.send'] })
    .hook('Batch', 'create', ['ping_items'])
    .hook('Batch', 'update', ['ping_batch'])
    .hook('Batch', 'delete', ['sneaky']),
);

let db: TestDatabase;
let http: HttpSink;
let pipeline: TestStack;
let config: ReturnType<typeof testConfig>;
let metricsAddress: string;
const fixed = new Set<string>();
const options = () => ({
  artifact,
  config,
  pool: db.pool,
  handlers: { sneaky: () => ({ capability: 'http.post' as const, url: 'http://127.0.0.1:1/never', body: {} }) },
});

beforeAll(async () => {
  db = await createTestDatabase('inspect');
  await db.pool.query(`
    CREATE TABLE batches (id serial PRIMARY KEY, note text);
    CREATE TABLE items (id serial PRIMARY KEY, batch_id integer REFERENCES batches(id), path text);`);
  http = await startHttpSink({
    answer: ({ path, n }) => (path.startsWith('/bad') && !fixed.has(path) ? 400 : path.startsWith('/flaky') && n === 1 ? 500 : 200),
  });
  config = testConfig('inspect', {
    email: { host: '127.0.0.1', port: 1, from: 'x@inspect.test' },
    http: { allow: ['127.0.0.1'] },
    jobs: {
      max_attempts: 3,
      timeout: '10s',
      ping_items: { url: `${http.url}/{{target.path}}` },
      ping_batch: { url: `${http.url}/{{trigger.note}}` },
    },
  });
  // The runtime is process-wide and installed by the first worker of this test file's module registry.
  metricsAddress = `127.0.0.1:${await freePort()}`;
  process.env.FORGE_METRICS_PROMETHEUS = metricsAddress;
  pipeline = await startTestStack(options());
  delete process.env.FORGE_METRICS_PROMETHEUS;
});

afterAll(async () => {
  await pipeline?.stop();
  await http?.close();
  await db?.drop();
});

let batchA: { id: number };
let deadA: string;
let sneakyId: string;
let flakyId: string;

async function batch(note: string, items: string[]) {
  const { rows } = await db.pool.query('INSERT INTO batches (note) VALUES ($1) RETURNING *', [note]);
  for (const path of items) await db.pool.query('INSERT INTO items (batch_id, path) VALUES ($1, $2)', [rows[0].id, path]);
  return rows[0];
}

test('dead jobs are listed with job, entity, record, operation, reason, attempts, last error, time and targets', async () => {
  batchA = await batch('a', ['ok-a1', 'bad-a2', 'bad-a3']);
  const [a] = await pipeline.client.afterCommit('Batch', 'create', batchA);
  deadA = a.workflowId;
  const batchB = await batch('flaky-b', []);
  const [b] = await pipeline.client.afterCommit('Batch', 'update', batchB);
  flakyId = b.workflowId;
  const batchC = await batch('c', []);
  const [c] = await pipeline.client.afterCommit('Batch', 'delete', batchC);
  sneakyId = c.workflowId;
  expect((await outcome(deadA)).state).toBe('dead');
  expect((await outcome(flakyId)).state).toBe('completed');
  expect((await outcome(sneakyId)).state).toBe('dead');

  const dead = await eventually(async () => {
    const list = await pipeline.inspector.deadJobs();
    return list.length === 2 && list;
  });
  const a1 = dead.find((d) => d.workflowId === deadA)!;
  expect(a1).toMatchObject({
    job: 'ping_items',
    entity: 'Batch',
    operation: 'create',
    recordId: String(batchA.id),
    reason: 'PermanentError',
    attempts: 1,
    targets: 3,
    completed: 1,
  });
  expect(a1.lastError).toMatch(/400/);
  expect(a1.deadTargets.map((t) => t.reason)).toEqual([expect.stringMatching(/400/), expect.stringMatching(/400/)]);
  expect(a1.time).toBeInstanceOf(Date);
  expect(dead.find((d) => d.workflowId === sneakyId)).toMatchObject({ job: 'sneaky', operation: 'delete', reason: 'SandboxViolation' });

  expect((await pipeline.inspector.deadJobs({ job: 'ping_items' })).map((d) => d.workflowId)).toEqual([deadA]);
  expect(await pipeline.inspector.deadJobs({ entity: 'Nope' })).toEqual([]);
  expect(await pipeline.inspector.deadJobs({ limit: 1 })).toHaveLength(1);
  expect(await pipeline.inspector.deadJobs({ since: '1h' })).toHaveLength(2);
  expect(await pipeline.inspector.deadJobs({ since: new Date(Date.now() + 60_000) })).toEqual([]);
  await expect(pipeline.inspector.deadJobs({ since: 'yesterday' })).rejects.toThrow(/since/);
});

test('stats count what ran on this task queue, from visibility', async () => {
  const stats = await eventually(async () => {
    const s = await pipeline.inspector.stats();
    return s.total_enqueued === 3 && s.total_completed === 1 && s.total_retried === 1 && s.total_dead === 2 && s.total_failed === 2 && s;
  });
  expect(stats).toMatchObject({
    queue_depth: 0,
    total_enqueued: 3,
    total_completed: 1,
    total_failed: 2,
    total_retried: 1,
    total_dead: 2,
    sandbox_violations: 1,
    outbox_pending: null,
    outbox_unmatched: null,
    outbox_dead: null,
    task_queue: pipeline.client.taskQueue,
  });
  expect(stats.worker_count).toBeGreaterThanOrEqual(1);
});

test('outbox_pending counts undispatched rows of the database the client is given', async () => {
  const other = await createTestDatabase('inspect_outbox');
  try {
    await migrate(other.pool);
    await writeOutboxEvent(other.pool, 'Batch', 'create', { id: 1 }, { eventId: 'e1' });
    const client = createJobInspector({ config, database: other.pool });
    try {
      expect((await client.stats()).outbox_pending).toBe(1);
    } finally {
      await client.close();
    }
  } finally {
    await other.drop();
  }
});

test('retry redrives a dead job: a new run under the same id runs only the dead targets, with the same idempotency keys', async () => {
  fixed.add('/bad-a2');
  fixed.add('/bad-a3');
  const retried = await pipeline.inspector.retry(deadA);
  expect(retried).toHaveLength(1);
  expect(retried[0]).toMatchObject({ workflowId: deadA, job: 'ping_items' });
  expect(retried[0].runId).not.toBe(retried[0].previousRunId);
  expect(retried[0].onlyTargets?.map(String).sort()).toHaveLength(2);
  expect((await outcome(deadA)).state).toBe('completed');

  const count = (p: string) => http.hitsTo(p).length;
  expect([count('/ok-a1'), count('/bad-a2'), count('/bad-a3')]).toEqual([1, 2, 2]);
  const keys = http.hitsTo('/bad-a2').map((h) => h.key);
  expect(keys[0]).toBeTruthy();
  expect(keys[1]).toBe(keys[0]);

  const shown = await pipeline.inspector.show(deadA);
  expect(shown).toMatchObject({ state: 'completed', status: 'COMPLETED', job: 'ping_items', targets: 2, completed: 2 });
  expect(shown.runs.map((r) => r.status)).toEqual(['FAILED', 'COMPLETED']);

  // the dead run stays in history, but the job is no longer dead
  await eventually(async () => (await pipeline.inspector.deadJobs()).map((d) => d.workflowId).join() === sneakyId);
  await expect(pipeline.inspector.retry(deadA)).rejects.toThrow(/not dead/);
  await expect(pipeline.inspector.retry('forge/no/such/job')).rejects.toThrow(/no job workflow/);
});

test('retry by job redrives every dead job of it; one that dies again is still one dead job', async () => {
  const retried = await pipeline.inspector.retry({ job: 'sneaky' });
  expect(retried.map((r) => r.workflowId)).toEqual([sneakyId]);
  expect((await outcome(sneakyId)).state).toBe('dead');
  const stats = await eventually(async () => {
    const s = await pipeline.inspector.stats();
    return s.total_enqueued === 5 && s.sandbox_violations === 2 && s.total_failed === 3 && s.total_completed === 2 && s;
  });
  expect(stats).toMatchObject({ total_dead: 1, total_retried: 1, queue_depth: 0 });
  const dead = await pipeline.inspector.deadJobs();
  expect(dead.map((d) => [d.workflowId, d.runId])).toEqual([[sneakyId, retried[0].runId]]);
});

// (a worker's metrics leave the endpoint when it shuts down: this runs before the restart below)
test('the worker serves Prometheus metrics: Temporal runtime metrics and the job counters', async () => {
  const text = await eventually(async () => {
    const body = await (await fetch(`http://${metricsAddress}/metrics`)).text();
    return /forge_jobs_completed/.test(body) && body;
  });
  expect(text).toMatch(/temporal_/);
  expect(text).toMatch(/forge_jobs_dead/);
  expect(text).toMatch(/forge_jobs_sandbox_violations/);
  expect(text).toMatch(/forge_jobs_effect_retries/);
});

test('stats are the same after a worker restart (no in-memory counters)', async () => {
  const before = await pipeline.inspector.stats();
  await pipeline.stop();
  pipeline = await startTestStack(options());
  const after = await pipeline.inspector.stats();
  const { worker_count: _w1, ...a } = before;
  const { worker_count: _w2, ...b } = after;
  expect(b).toEqual(a);
});

describe('dev endpoints', () => {
  let app: AppServer;
  let plain: AppServer;
  beforeAll(async () => {
    app = await startAppServer({
      pool: db.pool,
      client: pipeline.client,
      artifact: pipeline.worker.artifact,
      devRoutes: devJobsEndpoints(pipeline.inspector),
    });
    plain = await startAppServer({ pool: db.pool, client: pipeline.client, artifact: pipeline.worker.artifact });
  });
  afterAll(async () => {
    await app?.close();
    await plain?.close();
  });

  test('/_dev/jobs/stats and /_dev/jobs/dead answer JSON', async () => {
    const stats = await fetch(`${app.url}/_dev/jobs/stats`);
    expect(stats.status).toBe(200);
    expect(stats.headers.get('content-type')).toMatch(/json/);
    expect(await stats.json()).toMatchObject({
      total_enqueued: 5,
      total_dead: 1,
      sandbox_violations: 2,
      task_queue: pipeline.client.taskQueue,
    });

    const dead = await fetch(`${app.url}/_dev/jobs/dead?job=sneaky&limit=5`);
    expect(dead.status).toBe(200);
    const body = (await dead.json()) as { dead: Array<{ workflowId: string; reason: string; time: string }> };
    expect(body.dead).toEqual([expect.objectContaining({ workflowId: sneakyId, reason: 'SandboxViolation' })]);
    expect(new Date(body.dead[0].time).getTime()).toBeGreaterThan(0);

    expect((await fetch(`${app.url}/_dev/jobs/dead?limit=zero`)).status).toBe(400);
    expect((await fetch(`${app.url}/_dev/jobs/dead?since=yesterday`)).status).toBe(400);
  });

  test('they exist only where the dev stack mounts them', async () => {
    expect((await fetch(`${plain.url}/_dev/jobs/stats`)).status).toBe(404);
  });
});
