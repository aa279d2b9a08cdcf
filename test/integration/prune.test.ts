/** Dead jobs are kept longer than completed ones: completed runs are deleted after [jobs] completed_retention. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pruneCompleted } from '../../src';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { eventually, outcome, startPipeline, temporal, testConfig, type Pipeline } from '../helpers/stack';

const artifact = {
  entities: { Ping: { name: 'Ping', table: 'pings', fields: { path: { name: 'path', type: 'string' } }, relations: {} } },
  jobs: { ping: { name: 'ping', input_entity: 'Ping', capabilities: ['http.post'] } },
  hooks: [{ entity: 'Ping', timing: 'after', operation: 'create', jobs: ['ping'] }],
};

let db: TestDatabase;
let http: Server;
let pipeline: Pipeline;

beforeAll(async () => {
  db = await createTestDatabase('prune');
  http = createServer((req, res) => void res.writeHead(req.url?.startsWith('/bad') ? 400 : 200).end());
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  const port = (http.address() as AddressInfo).port;
  const config = testConfig('prune', {
    http: { allow: ['127.0.0.1'] },
    jobs: { completed_retention: '1h', ping: { url: `http://127.0.0.1:${port}/{{trigger.path}}` } },
  });
  expect(config.jobs.completedRetentionMs).toBe(3_600_000);
  pipeline = await startPipeline({ artifact, config, pool: db.pool });
});

afterAll(async () => {
  await pipeline?.stop();
  await new Promise((r) => http?.close(r));
  await db?.drop();
});

test('completed runs older than the retention are deleted; dead runs stay, listed and retryable', async () => {
  const [done] = await pipeline.client.afterCommit('Ping', 'create', { id: 1, path: 'ok' });
  const [dead] = await pipeline.client.afterCommit('Ping', 'create', { id: 2, path: 'bad' });
  expect((await outcome(done.workflowId)).state).toBe('completed');
  expect((await outcome(dead.workflowId)).state).toBe('dead');
  const client = await temporal();
  const base = { client, namespace: 'default', taskQueue: pipeline.client.taskQueue };

  // Not old enough yet: nothing goes.
  expect(await pruneCompleted({ ...base, olderThanMs: 3_600_000 })).toBe(0);
  // An hour later (the clock moved, not the test): the completed run goes, once visibility shows it closed.
  const later = Date.now() + 3_600_000 + 60_000;
  // Exactly one run is deleted: the completed one, not the dead one.
  await eventually(async () => (await pruneCompleted({ ...base, olderThanMs: 3_600_000, now: later })) === 1, 20_000, 'the completed run pruned');
  // (Temporal carries the deletion out in the background: on the dev server the run can be seen a while longer.)
  expect((await client.workflow.getHandle(dead.workflowId).describe()).status.name).toBe('FAILED');
  expect((await pipeline.client.deadJobs()).map((d) => d.workflowId)).toEqual([dead.workflowId]);
});
