/** Dead jobs are kept longer than completed ones: completed runs are deleted after [jobs] completed_retention. */
import { ledgerKeepMs, pruneCompleted, pruneDeadTargets, pruneLedger } from '../../src/admin';
import { createMemoryLogger } from '../../src/log';
import { compiled, artifact as newArtifact } from '../support/artifact-builder';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startHttpSink, type HttpSink } from '../support/sinks';
import { eventually, outcome, startTestStack, temporal, testConfig, type TestStack } from '../support/stack';

const artifact = compiled(
  newArtifact()
    .entity('Ping', 'pings', ['path'])
    .job('ping', 'Ping', '', { capabilities: ['http.post'] })
    .hook('Ping', 'create', ['ping']),
);

let db: TestDatabase;
let http: HttpSink;
let pipeline: TestStack;

beforeAll(async () => {
  db = await createTestDatabase('prune');
  http = await startHttpSink({ answer: ({ path }) => (path.startsWith('/bad') ? 400 : 200) });
  const config = testConfig('prune', {
    http: { allow: ['127.0.0.1'] },
    jobs: { completed_retention: '1h', ping: { url: `${http.url}/{{trigger.path}}` } },
  });
  expect(config.jobs.completedRetentionMs).toBe(3_600_000);
  pipeline = await startTestStack({ artifact, config, pool: db.pool });
});

afterAll(async () => {
  await pipeline?.stop();
  await http?.close();
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
  await eventually(
    async () => (await pruneCompleted({ ...base, olderThanMs: 3_600_000, now: later })) === 1,
    20_000,
    'the completed run pruned',
  );
  // (Temporal carries the deletion out in the background: on the dev server the run can be seen a while longer.)
  expect((await client.workflow.getHandle(dead.workflowId).describe()).status.name).toBe('FAILED');
  expect((await pipeline.inspector.deadJobs()).map((d) => d.workflowId)).toEqual([dead.workflowId]);
});

test('effect-ledger keys are kept for the namespace retention plus the longest retry, then the worker deletes them', async () => {
  const jobs = { maxAttempts: 5, timeoutMs: 30_000 };
  const day = 24 * 3_600_000;
  expect(ledgerKeepMs(30 * day, jobs)).toBe(30 * day + 5 * (30_000 + 5 * 60_000) + day);

  const { rows } = await db.pool.query(
    `INSERT INTO forge_jobs.effect_ledger (key, created_at) VALUES
       ('sent:ancient', now() - interval '400 days'), ('old-entity-key', now() - interval '400 days'), ('sent:fresh', now())
     RETURNING key`,
  );
  expect(rows).toHaveLength(3);
  // Nothing is younger than a year and a day except the fresh key.
  expect(await pruneLedger(db.pool, 366 * day)).toBe(2);
  expect(await pruneLedger(db.pool, 366 * day)).toBe(0);
  const keys = async () =>
    (
      await db.pool.query(
        `SELECT key FROM forge_jobs.effect_ledger WHERE key IN ('sent:ancient', 'old-entity-key', 'sent:fresh', 'sent:ancient-2')`,
      )
    ).rows
      .map((r) => r.key)
      .sort();
  expect(await keys()).toEqual(['sent:fresh']);

  // A worker's own sweep reads the namespace's retention from the server and does the same.
  await db.pool.query(`INSERT INTO forge_jobs.effect_ledger (key, created_at) VALUES ('sent:ancient-2', now() - interval '400 days')`);
  const logger = createMemoryLogger();
  const worker = await pipeline.startWorker({
    config: testConfig('prune-ledger'),
    logger,
    relay: false,
    pruneCompleted: { intervalMs: 200 },
  });
  try {
    await eventually(async () => !(await keys()).includes('sent:ancient-2'), 20_000, 'the worker pruned the ancient key');
    // the sweep logs once its DELETE has returned, a moment after the row is gone
    await eventually(
      async () => logger.records.some((r) => r.event === 'ledger.pruned' && r.deleted === 1),
      20_000,
      'the sweep to log what it pruned',
    );
  } finally {
    await worker.stop();
  }
  expect(await keys()).toEqual(['sent:fresh']);
  expect(logger.records.some((r) => r.event === 'ledger.pruned' && r.deleted === 1)).toBe(true);
});

test('stored dead targets older than the ledger keeps its keys are deleted; younger ones stay for a redrive', async () => {
  const day = 24 * 3_600_000;
  await db.pool.query(
    `INSERT INTO forge_jobs.dead_targets (workflow_id, run_id, target, reason, attempts, created_at) VALUES
       ('wf-old', 'run-1', '1', 'gone', 1, now() - interval '400 days'), ('wf-new', 'run-2', '1', 'gone', 1, now())`,
  );
  expect(await pruneDeadTargets(db.pool, 366 * day)).toBe(1);
  const { rows } = await db.pool.query(`SELECT workflow_id FROM forge_jobs.dead_targets WHERE workflow_id IN ('wf-old', 'wf-new')`);
  expect(rows).toEqual([{ workflow_id: 'wf-new' }]);
});
