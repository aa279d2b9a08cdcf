/**
 * Paged fan-out at the sizes where one list, one signal per attempt or one record per input would break:
 * thousands of email targets (uuid ids) through the public API, with every target succeeding, failing
 * permanently, failing transiently to its last attempt, or a mix; the job's end state, its dead list (the
 * table and deadJobs()), and every execution's history (each part's continued-as-new runs included) below a
 * bound; a 120 KiB trigger record; a job over `[jobs] max_targets`; and a redrive of a partly dead job that
 * runs only its dead targets. A real SMTP server on 127.0.0.1 answers by the address's local part.
 */
import type { JobStatus } from '../../src/workflows/state';
import { compiled, artifact as newArtifact } from '../support/artifact-builder';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startSmtpSink, type SmtpSink } from '../support/sinks';
import { eventually, outcome, recordHistory, startTestStack, temporal, testConfig, type TestStack } from '../support/stack';

const PART_SIZE = 1000;
/** Low enough that a part with retry rounds continues as new at least once. */
const PART_HISTORY_LIMIT = 150;
/** The most events any execution may have: the limit, plus what the batches in flight add as they end. */
const HISTORY_BOUND = 250;
const MAX_TARGETS = 5000;

const artifact = compiled(
  newArtifact()
    .entity('List', 'lists', ['title'])
    .entity('Member', 'members', ['email'])
    .many('List', 'members', 'Member', 'list_id')
    .job('mail_members', 'List', 'List.members')
    .hook('List', 'update', ['mail_members']),
);

let db: TestDatabase;
let smtp: SmtpSink;
let pipeline: TestStack;
/** RCPT attempts per address */
const tried = new Map<string, number>();
/** perm- addresses are refused with 550 until this is set (the redrive's fix). */
let permFixed = false;

/** ok-: accepted; perm-: 550; temp-: 451 always; flaky-: 451 on the first try, then accepted. */
function refusal(address: string): { code: number; message: string } | undefined {
  const n = (tried.get(address) ?? 0) + 1;
  tried.set(address, n);
  if (address.startsWith('perm-') && !permFixed) return { code: 550, message: 'no such mailbox' };
  if (address.startsWith('temp-')) return { code: 451, message: 'try again later' };
  if (address.startsWith('flaky-') && n === 1) return { code: 451, message: 'greylisted' };
  return undefined;
}

beforeAll(async () => {
  db = await createTestDatabase('paged');
  await db.pool.query(`
    CREATE TABLE lists (id integer PRIMARY KEY, title text, blob text);
    CREATE TABLE members (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), list_id integer NOT NULL REFERENCES lists(id), email text);
    CREATE INDEX ON members (list_id);
    INSERT INTO lists (id, title) VALUES (1, 'ok'), (2, 'perm'), (3, 'temp'), (4, 'mixed'), (5, 'too many');
    INSERT INTO members (list_id, email) SELECT 1, 'ok-' || g || '@list.test' FROM generate_series(1, 3000) g;
    INSERT INTO members (list_id, email) SELECT 2, 'perm-' || g || '@list.test' FROM generate_series(1, 2000) g;
    INSERT INTO members (list_id, email) SELECT 3, 'temp-' || g || '@list.test' FROM generate_series(1, 2000) g;
    INSERT INTO members (list_id, email)
      SELECT 4, (ARRAY['ok', 'flaky', 'perm'])[g % 3 + 1] || '-m' || g || '@list.test' FROM generate_series(1, 3000) g;
    INSERT INTO members (list_id, email) SELECT 5, 'ok-big' || g || '@list.test' FROM generate_series(1, ${MAX_TARGETS + 1}) g;`);
  smtp = await startSmtpSink({ rcpt: refusal, keep: false });
  const config = testConfig('paged', {
    email: { host: '127.0.0.1', port: smtp.port, from: 'lists@list.test' },
    jobs: {
      max_attempts: 3,
      timeout: '10s',
      concurrency: 25,
      max_targets: MAX_TARGETS,
      // The default text lists the record's fields: 3,000 copies of a 120 KiB blob would test SMTP, not the fan-out.
      mail_members: { subject: 'News', text: 'Hello {{target.email}}' },
    },
  });
  pipeline = await startTestStack({
    artifact,
    config,
    pool: db.pool,
    // Batches of 50 (not the default 200): 1,000-target parts then take enough batches a round to continue as new.
    policy: { partSize: PART_SIZE, batchSize: 50, retryDelayMs: 200, partHistoryLimit: PART_HISTORY_LIMIT },
  });
});

afterAll(async () => {
  await pipeline?.stop();
  await smtp?.close();
  await db?.drop();
});

async function start(listId: number, blob?: string): Promise<string> {
  if (blob !== undefined) await db.pool.query('UPDATE lists SET blob = $1 WHERE id = $2', [blob, listId]);
  const {
    rows: [list],
  } = await db.pool.query('SELECT * FROM lists WHERE id = $1', [listId]);
  const [started] = await pipeline.client.afterCommit('List', 'update', list);
  return started.workflowId;
}

async function emails(listId: number): Promise<string[]> {
  const { rows } = await db.pool.query<{ email: string }>('SELECT email FROM members WHERE list_id = $1', [listId]);
  return rows.map((r) => r.email);
}

/** Bytes of every payload in a history: inputs, results, signals, failure details. */
function payloadBytes(node: unknown): number {
  if (node instanceof Uint8Array) return node.length;
  if (!node || typeof node !== 'object') return 0;
  return Object.values(node).reduce((sum: number, value) => sum + payloadBytes(value), 0);
}

/** Every execution of the job's latest run and of its parts (each continued-as-new run too): events and payload bytes. */
async function executions(workflowId: string): Promise<Array<{ id: string; events: number; bytes: number }>> {
  const client = await temporal();
  const latest = (await client.workflow.getHandle(workflowId).describe()).runId;
  const out: Array<{ id: string; events: number; bytes: number }> = [];
  const add = async (id: string, runId: string) => {
    const history = await client.workflow.getHandle(id, runId).fetchHistory();
    out.push({ id, events: history.events!.length, bytes: payloadBytes(history) });
  };
  await add(workflowId, latest);
  const parts: Array<{ id: string; runId: string }> = [];
  for await (const run of client.workflow.list({ query: `WorkflowId STARTS_WITH "${workflowId}/part-"` }))
    parts.push({ id: run.workflowId, runId: run.runId });
  for (const part of parts) await add(part.id, part.runId);
  return out;
}

async function deadRows(workflowId: string): Promise<Array<{ run_id: string; target: string; type: string; attempts: number }>> {
  const { rows } = await db.pool.query('SELECT run_id, target, type, attempts FROM forge_jobs.dead_targets WHERE workflow_id = $1', [
    workflowId,
  ]);
  return rows;
}

test('3,000 targets and a 120 KiB record: completed, each address mailed once, the record in no history twice', async () => {
  const blob = 'x'.repeat(120 * 1024);
  const id = await start(1, blob);
  const result = await outcome(id);
  expect(result.state).toBe('completed');
  expect(result.result).toMatchObject({ targets: 3000, completed: 3000, dead: [] });
  const addresses = await emails(1);
  expect(addresses.map((a) => smtp.recipientCounts.get(a) ?? 0)).toEqual(addresses.map(() => 1));

  const runs = await eventually(async () => {
    const found = await executions(id);
    return found.length === 4 && found; // the job and its 3 parts
  });
  for (const run of runs) expect(run.events).toBeLessThan(HISTORY_BOUND);
  // The job's history holds the record once (its input); a part's holds it not at all.
  expect(runs[0].bytes).toBeLessThan(2 * blob.length);
  for (const run of runs.slice(1)) expect(run.bytes).toBeLessThan(blob.length / 2);
}, 120_000);

test('every target failing permanently: dead at once, every target stored, listed by deadJobs()', async () => {
  const id = await start(2);
  const result = await outcome(id);
  expect(result.state).toBe('dead');
  expect(result.failure).toMatch(/^2000 of 2000 targets dead; first: .*550/);
  const dead = await deadRows(id);
  expect(dead).toHaveLength(2000);
  expect(dead.every((d) => d.type === 'PermanentError' && d.attempts === 1)).toBe(true);
  const addresses = await emails(2);
  expect(addresses.map((a) => tried.get(a))).toEqual(addresses.map(() => 1));

  const listed = await eventually(
    async () => (await pipeline.inspector.deadJobs()).find((d) => d.workflowId === id),
    20_000,
    'the job in deadJobs()',
  );
  expect(listed).toMatchObject({ reason: 'PermanentError', targets: 2000, completed: 0, deadCount: 2000 });
  expect(listed.deadTargets.length).toBe(20);
  for (const run of await executions(id)) expect(run.events).toBeLessThan(HISTORY_BOUND);
}, 120_000);

test('every target failing transiently to its last attempt: failed while retrying, then dead, histories bounded', async () => {
  const id = await start(3);
  const handle = (await temporal()).workflow.getHandle(id);
  // The parts' counts reach the job in a few signals: it says `failed` while their retries are pending.
  await eventually(async () => (await handle.query<string>('state')) === 'failed', 60_000, 'state failed while retrying');
  const result = await outcome(id);
  expect(result.state).toBe('dead');
  expect(result.failure).toMatch(/^2000 of 2000 targets dead; first: .*451/);
  const status = await handle.query<JobStatus>('status');
  expect(status).toMatchObject({ state: 'dead', targets: 2000, completed: 0, dead: 2000, failedAttempts: 4000 });
  const dead = await deadRows(id);
  expect(dead).toHaveLength(2000);
  expect(dead.every((d) => d.type === 'RetriesExhausted' && d.attempts === 3)).toBe(true);
  // Once the relay has deferred 20 sends in a row the breaker (src/providers/breaker.ts) fails the rest of
  // each round without asking it, probing every 100 ms: far fewer RCPTs than attempts, never more.
  const addresses = await emails(3);
  const rcpts = addresses.map((a) => tried.get(a) ?? 0);
  expect(Math.max(...rcpts)).toBeLessThanOrEqual(3);
  expect(rcpts.reduce((a, b) => a + b, 0)).toBeLessThan(addresses.length);

  const runs = await eventually(async () => {
    const found = await executions(id);
    return found.length > 3 && found;
  });
  // Three rounds over 1,000 targets do not fit PART_HISTORY_LIMIT: the parts continued as new.
  expect(runs.length).toBeGreaterThan(3);
  for (const run of runs) expect(run.events).toBeLessThan(HISTORY_BOUND);
  // The latest run of a part that continued as new: it starts from its carried state.
  await recordHistory('paged-continued', `${id}/part-0`, 'jobPartWorkflow');
  // No signal per attempt: the job heard a handful of messages, not 4,000.
  const job = await handle.fetchHistory();
  expect(job.events!.filter((e) => e.workflowExecutionSignaledEventAttributes).length).toBeLessThanOrEqual(2 * 2);
}, 180_000);

test('a mixed job is dead with its permanent failures only; its redrive runs only the dead targets, paged from the table', async () => {
  const id = await start(4);
  const result = await outcome(id);
  expect(result.state).toBe('dead');
  const dead = await deadRows(id);
  const addresses = await emails(4);
  const perm = addresses.filter((a) => a.startsWith('perm-'));
  expect(dead).toHaveLength(perm.length);
  expect(result.failure).toMatch(new RegExp(`^${perm.length} of 3000 targets dead`));
  // flaky- went out on the second round, once; ok- once; perm- never.
  for (const a of addresses) expect([a, smtp.recipientCounts.get(a) ?? 0]).toEqual([a, a.startsWith('perm-') ? 0 : 1]);

  permFixed = true;
  const sentBefore = new Map(smtp.recipientCounts);
  const [retried] = await pipeline.inspector.retry(id);
  expect(retried.redriveOf).toBe(dead[0].run_id);
  expect(retried.onlyTargets).toBeUndefined();
  const again = await outcome(id);
  expect(again.state).toBe('completed');
  expect(again.result).toMatchObject({ targets: perm.length, completed: perm.length, dead: [] });
  // Exactly the dead targets were mailed, each once; nobody else heard again.
  for (const a of addresses)
    expect([a, (smtp.recipientCounts.get(a) ?? 0) - (sentBefore.get(a) ?? 0)]).toEqual([a, a.startsWith('perm-') ? 1 : 0]);
  for (const run of await executions(id)) expect(run.events).toBeLessThan(HISTORY_BOUND);
}, 180_000);

test('a job whose needs reach more than [jobs] max_targets is dead with needs_limit and the numbers, nothing sent', async () => {
  const id = await start(5);
  const result = await outcome(id);
  expect(result.state).toBe('dead');
  expect(result.failure).toMatch(
    new RegExp(`needs_limit: .*more than ${MAX_TARGETS} targets .*max_targets = ${MAX_TARGETS}; counted ${MAX_TARGETS + 1}`),
  );
  const addresses = await emails(5);
  expect(addresses.some((a) => tried.has(a))).toBe(false);
}, 60_000);
