/**
 * `courier: false`: email and HTTP are sent in the worker's own process (no child forked), and a confirmed
 * send is still recorded in the sent-ledger by the worker, so a retry of the attempt does not send it again.
 */
import { startMailSink } from '../../src/dev/mail-sink';
import { compiled, artifact as newArtifact } from '../support/artifact-builder';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startHttpSink, type HttpSink } from '../support/sinks';
import { outcome, startTestStack, testConfig, type TestStack } from '../support/stack';

const artifact = compiled(
  newArtifact()
    .entity('Signup', 'signups', ['email'])
    .job('welcome', 'Signup', '', { capabilities: ['email.send', 'http.post'] })
    .hook('Signup', 'create', ['welcome']),
);

let db: TestDatabase;
let sink: Awaited<ReturnType<typeof startMailSink>>;
let http: HttpSink;
let pipeline: TestStack;

beforeAll(async () => {
  db = await createTestDatabase('in_process_sends');
  await db.pool.query('CREATE TABLE signups (id serial PRIMARY KEY, email text)');
  sink = await startMailSink();
  http = await startHttpSink();
  const config = testConfig('in-process-sends', {
    email: { host: '127.0.0.1', port: sink.smtpPort, from: 'shop@example.test' },
    http: { allow: ['127.0.0.1'] },
    jobs: {
      welcome: {
        to: '{{trigger.email}}',
        subject: 'Welcome',
        text: 'Hello',
        url: `${http.url}/welcomed`,
      },
    },
  });
  pipeline = await startTestStack({ artifact, config, pool: db.pool, courier: false });
});

afterAll(async () => {
  await pipeline?.stop();
  await sink?.close();
  await http?.close();
  await db?.drop();
});

test('sends happen in the worker process, once each, and are recorded in the sent-ledger', async () => {
  const { rows } = await db.pool.query(`INSERT INTO signups (email) VALUES ('new@example.test') RETURNING *`);
  const [job] = await pipeline.client.afterCommit('Signup', 'create', rows[0]);
  expect((await outcome(job.workflowId)).state).toBe('completed');

  expect(sink.messages().filter((m) => m.to.includes('new@example.test'))).toHaveLength(1);
  const keys = http.hits.map((h) => h.key);
  expect(keys).toHaveLength(1);
  const ledger = await db.pool.query(`SELECT key FROM forge_jobs.effect_ledger WHERE key LIKE 'sent:%' ORDER BY key`);
  expect(ledger.rows).toHaveLength(2);
  expect(ledger.rows.map((r) => r.key)).toContain(`sent:${keys[0]}`);
  // No courier was forked: nothing says it started.
  expect(pipeline.logs.some((r) => String(r.event).startsWith('courier.'))).toBe(false);
});
