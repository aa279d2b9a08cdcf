/**
 * An application that brings its own Temporal server, which has never heard of the Forge search attributes:
 * the worker registers them on start, and a client whose start is refused for them registers and retries.
 */
import { Connection } from '@temporalio/client';
import { startTemporalDevServer, type TemporalDevServer } from '../../src/dev/temporal-dev-server';
import { listCustomSearchAttributes } from '../../src/temporal/register';
import { createJobClient, createJobWorker, resolveRuntimeConfig } from '../../src';
import { createMemoryLogger } from '../../src/log';
import { compiled, artifact as newArtifact } from '../support/artifact-builder';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { eventually } from '../support/stack';

let server: TemporalDevServer;
let address: string;
let db: TestDatabase;

const artifact = compiled(
  newArtifact()
    .entity('Note', 'notes', ['body'])
    .creates('log_note', 'Note', 'Note', { body: '"seen"' })
    .hook('Note', 'create', ['log_note']),
);

beforeAll(async () => {
  server = await startTemporalDevServer({
    cliPath: process.env.FORGE_TEST_TEMPORAL_CLI!,
    searchAttributes: false,
    extraArgs: ['--headless'],
  });
  address = server.address;
  db = await createTestDatabase('fresh');
  await db.pool.query('CREATE TABLE notes (id serial PRIMARY KEY, body text)');
});

afterAll(async () => {
  await db?.drop();
  await server?.stop();
});

test('a client on a server without the Forge search attributes registers them and starts the job', async () => {
  const config = resolveRuntimeConfig({ temporal: { address }, jobs: { task_queue: 'fresh' } }, { env: {} });
  const connection = await Connection.connect({ address });
  expect(Object.keys(await listCustomSearchAttributes(connection))).not.toContain('ForgeJob');

  const client = createJobClient({ artifact, config, logger: createMemoryLogger() });
  const [started] = await client.afterCommit('Note', 'create', { id: 1, body: 'hi' });
  expect(started.job).toBe('log_note');
  expect(Object.keys(await listCustomSearchAttributes(connection))).toEqual(
    expect.arrayContaining(['ForgeJob', 'ForgeJobState', 'ForgeRetries']),
  );

  const worker = createJobWorker({
    artifact,
    config,
    database: db.pool,
    logger: createMemoryLogger(),
    workflowBundle: { codePath: process.env.FORGE_TEST_WORKFLOW_BUNDLE! },
  });
  const running = worker.run();
  await Promise.race([worker.ready, running]);
  await eventually(
    async () => (await db.pool.query(`SELECT count(*)::int AS n FROM notes WHERE body = 'seen'`)).rows[0].n === 1,
    30_000,
    'the job ran',
  );
  worker.shutdown();
  await running;
  await client.close();
  await connection.close();
});
