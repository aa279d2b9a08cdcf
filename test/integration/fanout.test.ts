/**
 * One job fanning out to 10,000 targets completes, each target's effect exactly once, histories bounded: the
 * job resolves its targets to part bounds, never an id list, and each part (jobPartWorkflow) walks its range in
 * batches (runBatch); test/integration/batched-effects.test.ts has the batches' failure paths and
 * test/integration/paged-fanout.test.ts the failures at scale.
 */
import { compiled, artifact as newArtifact } from '../support/artifact-builder';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startHttpSink, type HttpSink } from '../support/sinks';
import { outcome, recordHistory, startTestStack, temporal, testConfig, type TestStack } from '../support/stack';

const TARGETS = 10_000;

const artifact = compiled(
  newArtifact()
    .entity('List', 'lists', ['title'])
    .entity('Subscriber', 'subscribers', ['email'])
    .many('List', 'subscribers', 'Subscriber')
    .job('ping_subscribers', 'List', 'List.subscribers', { capabilities: ['http.post'] })
    .hook('List', 'update', ['ping_subscribers']),
);

let db: TestDatabase;
let http: HttpSink;
let pipeline: TestStack;

beforeAll(async () => {
  db = await createTestDatabase('fanout');
  await db.pool.query(`
    CREATE TABLE lists (id serial PRIMARY KEY, title text);
    CREATE TABLE subscribers (id serial PRIMARY KEY, list_id integer REFERENCES lists(id), email text);
    INSERT INTO lists (title) VALUES ('big');
    INSERT INTO subscribers (list_id, email) SELECT 1, 's' || g || '@list.test' FROM generate_series(1, ${TARGETS}) g;`);
  http = await startHttpSink({ answer: () => 204, keepAliveMs: 10_000 });
  const config = testConfig('fanout', {
    http: { allow: ['127.0.0.1'] },
    jobs: { concurrency: 50, ping_subscribers: { url: `${http.url}/ping/{{target.id}}` } },
  });
  pipeline = await startTestStack({ artifact, config, pool: db.pool, policy: { partSize: 3000, childConcurrency: 4 } });
  // The statements that read a batch's page of targets (keyset on the id), counted as the worker sends them.
  const query = db.pool.query.bind(db.pool) as (...args: unknown[]) => unknown;
  (db.pool as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
    const text = typeof args[0] === 'string' ? args[0] : (args[0] as { text?: string })?.text;
    if (text?.startsWith('SELECT t.* FROM "subscribers"')) pageReads++;
    return query(...args);
  };
});

let pageReads = 0;

afterAll(async () => {
  await pipeline?.stop();
  await http?.close();
  await db?.drop();
});

test(`a fan-out to ${TARGETS} targets completes through part workflows in batches, each target once`, async () => {
  const {
    rows: [list],
  } = await db.pool.query('SELECT * FROM lists WHERE id = 1');
  const [started] = await pipeline.client.afterCommit('List', 'update', list);
  const result = await outcome(started.workflowId);
  expect(result.state).toBe('completed');
  // jobWorkflow_fanout and _fanout-batched are this job before paging; they stay, for the histories of that code.
  await recordHistory('paged', started.workflowId);
  await recordHistory('paged', `${started.workflowId}/part-0`, 'jobPartWorkflow');
  expect(result.result).toMatchObject({ targets: TARGETS, completed: TARGETS, dead: [] });
  expect(http.distinct()).toBe(TARGETS);
  expect(http.requests()).toBe(TARGETS);

  const client = await temporal();
  const parent = await client.workflow.getHandle(started.workflowId).fetchHistory();
  expect(parent.events!.length).toBeLessThan(100);
  // The resolution answered with 4 part bounds (3,000 targets each, the last 1,000), not 10,000 ids.
  const resolved = parent.events!.find((e) => e.activityTaskCompletedEventAttributes)!.activityTaskCompletedEventAttributes!;
  const answer = JSON.parse(Buffer.from(resolved.result!.payloads![0].data!).toString());
  expect(answer).toEqual({ targetEntity: 'Subscriber', total: TARGETS, parts: [3000, 6000, 9000, 10000] });
  for (let part = 0; part < 4; part++) {
    const child = await client.workflow.getHandle(`${started.workflowId}/part-${part}`).fetchHistory();
    expect(child.events!.length).toBeLessThan(400);
    const activities = child.events!.flatMap((e) => e.activityTaskScheduledEventAttributes?.activityType?.name ?? []);
    expect(activities[0]).toBe('targetBounds');
    expect(activities.slice(1).every((name) => name === 'runBatch')).toBe(true);
    // batches of 200 targets (the default batchSize)
    expect(activities.length - 1).toBe(part === 3 ? 5 : 15);
  }
  // One page read per batch: a page that ends on its batch's bound is the last, nothing is asked after it.
  expect(pageReads).toBe(3 * 15 + 5);
}, 240_000);
