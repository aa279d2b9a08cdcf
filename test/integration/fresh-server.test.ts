/**
 * An application that brings its own Temporal server, which has never heard of the Forge search attributes:
 * the worker registers them on start, and a client whose start is refused for them registers and retries.
 */
import { Connection } from '@temporalio/client';
import { listCustomSearchAttributes } from '../../src/temporal/register';
import { compiled, artifact as newArtifact } from '../support/artifact-builder';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { eventually, startTestStack, testConfig, type TestStack } from '../support/stack';

let stack: TestStack;
let db: TestDatabase;

const artifact = compiled(
  newArtifact()
    .entity('Note', 'notes', ['body'])
    .creates('log_note', 'Note', 'Note', { body: '"seen"' })
    .hook('Note', 'create', ['log_note']),
);

beforeAll(async () => {
  db = await createTestDatabase('fresh');
  await db.pool.query('CREATE TABLE notes (id serial PRIMARY KEY, body text)');
  // A server of its own, bare as an application's may be; the worker comes after the client's first start.
  stack = await startTestStack({
    artifact,
    // testConfig's start deadline (10 s): registering the attributes and starting again takes more than the
    // default 500 ms when the run's other files share the two cores
    config: testConfig('fresh'),
    pool: db.pool,
    temporal: { own: true, searchAttributes: false, extraArgs: ['--headless'] },
    worker: false,
  });
});

afterAll(async () => {
  await stack?.stop();
  await db?.drop();
});

test('a client on a server without the Forge search attributes registers them and starts the job', async () => {
  const connection = await Connection.connect({ address: stack.address });
  expect(Object.keys(await listCustomSearchAttributes(connection))).not.toContain('ForgeJob');

  const [started] = await stack.client.afterCommit('Note', 'create', { id: 1, body: 'hi' });
  expect(started.job).toBe('log_note');
  expect(Object.keys(await listCustomSearchAttributes(connection))).toEqual(
    expect.arrayContaining(['ForgeJob', 'ForgeJobState', 'ForgeRetries']),
  );

  await stack.startWorker();
  await eventually(
    async () => (await db.pool.query(`SELECT count(*)::int AS n FROM notes WHERE body = 'seen'`)).rows[0].n === 1,
    30_000,
    'the job ran',
  );
  await connection.close();
});
