/**
 * Effects, errors and retries on a small shop app (not the helpdesk): real HTTP and SMTP servers on
 * 127.0.0.1, the real dev server and Postgres.
 */
import { startMailSink } from '../../src/dev/mail-sink';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { compiled, field, artifact as newArtifact } from '../support/artifact-builder';
import { startHttpSink, type HttpSink } from '../support/sinks';
import { eventually, outcome, recordHistory, startTestStack, testConfig, type TestStack } from '../support/stack';

const artifact = compiled(
  newArtifact()
    .entity('Customer', 'customers', ['name', 'email'])
    .entity('Order', 'orders', ['note', field.int('total', { nullable: true })])
    .entity('Audit', 'audits', ['what'])
    .single('Order', 'customer', 'Customer')
    .job('order_webhook', 'Order', '', { capabilities: ['http.post'] })
    .job('order_email', 'Order', 'Order.customer')
    .job('sneaky', 'Order', 'Order.customer')
    // a mapping to a column the table lacks: the insert fails, this job is dead with Postgres' reason
    .creates('bad_audit', 'Order', 'Audit', { what: '"order"', no_such_column: 'data.note' })
    .hook('Order', 'create', ['order_webhook'])
    .hook('Order', 'update', ['order_email'])
    .hook('Order', 'delete', ['sneaky', 'bad_audit']),
  { app_name: 'shop' },
);

let db: TestDatabase;
let sink: Awaited<ReturnType<typeof startMailSink>>;
let http: HttpSink;
let pipeline: TestStack;

beforeAll(async () => {
  db = await createTestDatabase('shop');
  await db.pool.query(`
    CREATE TABLE customers (id serial PRIMARY KEY, name text, email text);
    CREATE TABLE orders (id serial PRIMARY KEY, customer_id integer REFERENCES customers(id), note text, total integer);
    CREATE TABLE audits (id serial PRIMARY KEY, what text);
    INSERT INTO customers (name, email) VALUES ('Ann', 'ann@shop.test'), ('Bob', 'bob@shop.test');`);
  sink = await startMailSink();
  http = await startHttpSink({
    answer: ({ path, n }) => {
      if (path.startsWith('/flaky') && n === 1) return 500;
      if (path.startsWith('/bad')) return 400;
      if (path.startsWith('/down')) return 503;
      if (path.startsWith('/busy') && n === 1) return { status: 429, headers: { 'retry-after': '2' } };
      return 200;
    },
  });
  const config = testConfig('effects', {
    email: { host: '127.0.0.1', port: sink.smtpPort, from: 'shop@shop.test' },
    http: { allow: ['127.0.0.1'] },
    jobs: { max_attempts: 3, timeout: '10s', order_webhook: { url: `${http.url}/{{trigger.note}}` } },
  });
  pipeline = await startTestStack({
    artifact,
    config,
    pool: db.pool,
    // A job declared with email.send only, whose handler asks for an HTTP call: the sandbox must refuse it.
    handlers: { sneaky: ({ target }) => ({ capability: 'http.post', url: `${http.url}/sneaky`, body: { leak: target.email } }) },
  });
});

afterAll(async () => {
  await pipeline?.stop();
  await sink?.close();
  await http?.close();
  await db?.drop();
});

async function order(note: string, customerId: number | null = 1) {
  const { rows } = await db.pool.query('INSERT INTO orders (customer_id, note, total) VALUES ($1, $2, 10) RETURNING *', [customerId, note]);
  return rows[0];
}

async function run(operation: 'create' | 'update' | 'delete', row: Record<string, unknown>, scenario?: string) {
  const started = await pipeline.client.afterCommit('Order', operation, row);
  const results = await Promise.all(started.map(async (s) => ({ job: s.job, workflowId: s.workflowId, ...(await outcome(s.workflowId)) })));
  if (scenario) await recordHistory(scenario, results[0].workflowId);
  return results;
}

test('HTTP 500 is retried with the same Idempotency-Key, then succeeds', async () => {
  const [result] = await run('create', await order('flaky-1'), 'retry');
  expect(result.state).toBe('completed');
  const mine = http.hitsTo('/flaky-1');
  expect(mine).toHaveLength(2);
  expect(mine[0].headers['idempotency-key']).toBeTruthy();
  expect(mine[1].headers['idempotency-key']).toBe(mine[0].headers['idempotency-key']);
  expect(pipeline.logs.find((r) => r.event === 'job.failed' && r.job_id === result.workflowId)).toMatchObject({
    level: 'warn',
    name: 'order_webhook',
    attempt: 1,
    max_attempts: 3,
    error: expect.stringMatching(/500/),
  });
  expect(pipeline.logs.find((r) => r.event === 'job.completed' && r.job_id === result.workflowId)).toMatchObject({
    level: 'info',
    name: 'order_webhook',
    capability: 'http.post',
    duration_ms: expect.any(Number),
  });
});

test('HTTP 400 is permanent: dead on the first attempt, with its reason', async () => {
  const [result] = await run('create', await order('bad-1'), 'dead');
  expect(result.state).toBe('dead');
  expect(result.status).toBe('FAILED');
  expect(result.failure).toMatch(/400/);
  expect(http.hitsTo('/bad-1')).toHaveLength(1);
  // The roadmap's §9 fields, as JSON lines.
  const line = pipeline.logs.find((r) => r.event === 'job.dead_letter' && r.job_id === result.workflowId);
  expect(line).toMatchObject({
    level: 'error',
    name: 'order_webhook',
    capability: 'http.post',
    attempts: 1,
    last_error: expect.stringMatching(/400/),
  });
  expect(line!.total_duration).toEqual(expect.any(Number));
});

test('a transient failure on every attempt is retried with attempt² backoff, then dead after max_attempts', async () => {
  const [result] = await run('create', await order('down-1'));
  expect(result.state).toBe('dead');
  expect(result.failure).toMatch(/503/);
  const mine = http.hitsTo('/down-1');
  expect(mine).toHaveLength(3); // [jobs] max_attempts = 3
  // 1² s then 2² s, each plus up to 25 % jitter
  expect(mine[1].at - mine[0].at).toBeGreaterThanOrEqual(950);
  expect(mine[2].at - mine[1].at).toBeGreaterThanOrEqual(3900);
  expect(pipeline.logs.find((r) => r.event === 'job.dead_letter' && r.job_id === result.workflowId)).toMatchObject({ attempts: 3 });
});

test('HTTP 429 with Retry-After waits that long before the retry', async () => {
  const [result] = await run('create', await order('busy-1'));
  expect(result.state).toBe('completed');
  const mine = http.hitsTo('/busy-1');
  expect(mine).toHaveLength(2);
  expect(mine[1].at - mine[0].at).toBeGreaterThanOrEqual(1900);
});

test('a capability the job did not declare is a sandbox violation: dead on its first attempt, logged, nothing sent', async () => {
  const row = await order('sandbox');
  const results = await run('delete', row, 'sandbox-violation');
  const sneaky = results.find((r) => r.job === 'sneaky')!;
  expect(sneaky.state).toBe('dead');
  expect(sneaky.failure).toMatch(/did not declare/);
  expect(http.hitsTo('/sneaky')).toHaveLength(0);
  const violations = pipeline.logs.filter((r) => r.event === 'job.sandbox_violation');
  expect(violations.length).toBeGreaterThanOrEqual(1);
  expect(violations[0]).toMatchObject({ level: 'error', name: 'sneaky', attempted: 'http.post', allowed: ['email.send'] });
  expect(pipeline.logs.filter((r) => r.event === 'job.failed' && r.name === 'sneaky')).toHaveLength(0);

  // The other job of the same event ran on: its insert failed on Postgres' reason, and only it is dead for that.
  const audit = results.find((r) => r.job === 'bad_audit')!;
  expect(audit.state).toBe('dead');
  expect(audit.failure).toMatch(/no_such_column/);
});

test('SMTP 4xx is retried until the server accepts; 5xx is dead with the server’s reason', async () => {
  sink.setReply(451);
  const row = await order('smtp-4xx', 1);
  const started = await pipeline.client.afterCommit('Order', 'update', row);
  await eventually(async () => pipeline.logs.some((r) => r.event === 'job.failed' && r.job_id === started[0].workflowId));
  sink.setReply(null);
  expect((await outcome(started[0].workflowId)).state).toBe('completed');
  await sink.waitFor((all) => all.some((m) => m.to.includes('ann@shop.test')), 10000);

  sink.setReply(550);
  const [dead] = await run('update', await order('smtp-5xx', 2));
  sink.setReply(null);
  expect(dead.state).toBe('dead');
  expect(dead.failure).toMatch(/550/);
});

test('a missing foreign key gives no targets, not an error', async () => {
  const [result] = await run('update', await order('orphan', null));
  expect(result.state).toBe('completed');
  expect(result.result).toMatchObject({ targets: 0, completed: 0 });
});
