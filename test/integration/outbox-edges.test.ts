/**
 * Nothing lost at the edges, on the real dev server and Postgres: afterCommit bounded by the start deadline
 * with a Temporal that accepts connections and never answers, the event then held in the outbox for the
 * relay; rows whose jobs the running artifact lacks stay until one that has them runs; rows Temporal keeps
 * refusing back off and are parked dead, listed and retried from the CLI; event ids from the transaction.
 */
import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { createJobClient, createJobInspector } from '../../src';
import { startRelay, type Relay, createJobStarter } from '../../src/admin';
import { deriveEventId, jobWorkflowId, transactionEventId } from '../../src/outbox/event';
import type { RuntimeConfig } from '../../src/config/types';
import { createMemoryLogger } from '../../src/log';
import { inTransaction } from '../../src/postgres/transaction';
import { migrate } from '../../src/sql/migrations';
import { startHungServer } from '../support/sinks';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { eventually, startTestStack, temporal, testConfig, type TestStack } from '../support/stack';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'forge-jobs.js');

const entities = {
  Note: { name: 'Note', table: 'notes', fields: { title: { name: 'title', type: 'string', sql_type: 'text' } }, relations: {} },
  NoteLog: {
    name: 'NoteLog',
    table: 'note_logs',
    fields: { note_id: { name: 'note_id', type: 'string', sql_type: 'text' }, title: { name: 'title', type: 'string', sql_type: 'text' } },
    relations: {},
  },
};
const logNote = {
  name: 'log_note',
  input_entity: 'Note',
  needs_path: '',
  capabilities: ['entity.create'],
  target_entity: 'NoteLog',
  field_mappings: { note_id: 'data.id', title: 'data.title' },
};
const artifact = {
  entities,
  jobs: { log_note: logNote },
  hooks: [
    { entity: 'Note', timing: 'after', operation: 'create', jobs: ['log_note'] },
    { entity: 'Note', timing: 'after', operation: 'update', jobs: ['log_note'] },
  ],
};
/** The same app before the job existed (a rolling deploy's old worker): the hook names nothing it can run. */
const older = { entities, jobs: {}, hooks: [] };

let db: TestDatabase;
/** An outbox only the relays a test starts serve (the pipeline's worker runs a relay on db). */
let side: TestDatabase;
let config: RuntimeConfig;
let pipeline: TestStack;
const relays: Relay[] = [];
const closers: Array<() => Promise<void>> = [];
const run = randomBytes(3).toString('hex');
let counter = 0;
const nextId = (tag: string) => `${tag}-${run}-${++counter}`;

beforeAll(async () => {
  [db, side] = await Promise.all([createTestDatabase('outbox_edges'), createTestDatabase('outbox_edges_side')]);
  const schema =
    'CREATE TABLE notes (id text PRIMARY KEY, title text); CREATE TABLE note_logs (id serial PRIMARY KEY, note_id text, title text)';
  await Promise.all([db.pool.query(schema), side.pool.query(schema)]);
  await migrate(side.pool);
  config = testConfig('outbox-edges');
  pipeline = await startTestStack({ artifact, config, pool: db.pool });
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
  await Promise.all(closers.splice(0).map((c) => c()));
});

afterAll(async () => {
  await pipeline?.stop();
  await Promise.all([db?.drop(), side?.drop()]);
});

async function logsOf(id: string): Promise<string[]> {
  const { rows } = await db.pool.query<{ title: string }>('SELECT title FROM note_logs WHERE note_id = $1 ORDER BY id', [id]);
  return rows.map((r) => r.title);
}

async function workflowsOf(id: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of (await temporal()).workflow.list({ query: `TaskQueue = "${config.jobs.taskQueue}" AND ForgeRecordId = "${id}"` }))
    ids.push(wf.workflowId);
  return ids.sort();
}

test('the SQL event id and its JS twin agree, and differ per transaction', async () => {
  const { rows } = await db.pool.query<{ a: string; b: string; x: string }>(
    `SELECT forge_jobs.event_id('123456789012'::xid8, 'Note', 'update', 'n-1') AS a, forge_jobs.event_id('123456789013'::xid8, 'Note', 'update', 'n-1') AS b,
            forge_jobs.event_id('7'::xid8, 'Ünïcode', 'create', 'id with | bar') AS x`,
  );
  expect(rows[0].a).toBe(transactionEventId('123456789012', 'Note', 'update', 'n-1'));
  expect(rows[0].x).toBe(transactionEventId(7n, 'Ünïcode', 'create', 'id with | bar'));
  expect(rows[0].a).toMatch(/^[0-9a-f]{20}$/);
  expect(rows[0].b).not.toBe(rows[0].a);
});

test('A→B→A→B on a table without updated_at runs its jobs four times, on every path; the same commit seen twice runs once', async () => {
  const paths = {
    afterCommit: nextId('abab-direct'),
    outbox: nextId('abab-outbox'),
    enqueue: nextId('abab-enqueue'),
  };
  for (const [path, id] of Object.entries(paths)) {
    await db.pool.query('INSERT INTO notes (id, title) VALUES ($1, $2)', [id, 'A']);
    for (const title of ['B', 'A', 'B', 'A']) {
      const write = async (tx: { query: TestDatabase['pool']['query'] }) =>
        (await tx.query('UPDATE notes SET title = $2 WHERE id = $1 RETURNING *', [id, title])).rows[0];
      if (path === 'enqueue') {
        await inTransaction(db.pool, async (tx) => {
          const row = await write(tx);
          const first = await pipeline.client.enqueue(tx, 'Note', 'update', row);
          const again = await pipeline.client.enqueue(tx, 'Note', 'update', row); // the same commit seen twice
          expect(again?.eventId).toBe(first?.eventId);
          expect(first?.eventId).toBe(transactionEventId(first!.transactionId!, 'Note', 'update', id));
        });
      } else {
        await pipeline.client.withTransaction(db.pool, async (tx, emit) => emit('Note', 'update', await write(tx)), {
          outbox: path === 'outbox',
        });
      }
    }
  }
  for (const id of Object.values(paths)) {
    await eventually(async () => (await logsOf(id)).length >= 4, 30000);
    expect((await logsOf(id)).sort()).toEqual(['A', 'A', 'B', 'B']); // the jobs run concurrently: order is not promised
    expect(await workflowsOf(id)).toHaveLength(4);
  }
  // Where no transaction is known, the content decides: the same content again is the same event.
  expect(deriveEventId('Note', 'update', { id: 'x', title: 'B' })).toBe(deriveEventId('Note', 'update', { id: 'x', title: 'B' }));
});

test('afterCommit returns within the start deadline when Temporal hangs, and the relay starts the event once it can', async () => {
  const hung = await startHungServer();
  closers.push(hung.close);
  const logger = createMemoryLogger();
  const down = createJobClient({
    artifact,
    config: { ...config, jobs: { ...config.jobs, startDeadlineMs: 300 } },
    temporal: { address: hung.address },
    logger,
    database: side.pool,
  });
  closers.push(() => down.close());
  const id = nextId('hung');
  const note = (await side.pool.query('INSERT INTO notes (id, title) VALUES ($1, $2) RETURNING *', [id, 'held'])).rows[0];
  const took: number[] = [];
  let jobs: Awaited<ReturnType<typeof down.afterCommit>> = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    jobs = await down.afterCommit('Note', 'create', note, { transactionId: '42' });
    took.push(performance.now() - t0);
  }
  // the deadline plus one INSERT, every time: no SDK retry storm
  expect(Math.max(...took)).toBeLessThan(300 + 200);
  const workflowId = jobWorkflowId({
    job: 'log_note',
    entity: 'Note',
    operation: 'create',
    recordId: id,
    eventId: transactionEventId('42', 'Note', 'create', id),
  });
  expect(jobs).toEqual([{ job: 'log_note', workflowId }]);
  expect(logger.records.filter((r) => r.event === 'hook.start_deferred')).toHaveLength(3);
  expect(logger.records.some((r) => r.event === 'hook.start_lost')).toBe(false);
  const { rows } = await side.pool.query(
    `SELECT event_id, jobs, transaction_id::text AS txid FROM forge_jobs.outbox WHERE record->>'id' = $1`,
    [id],
  );
  // the same event deferred three times is one row: the outbox keeps one per event
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ jobs: ['log_note'], txid: '42' });

  const relay = await startRelay({ pool: side.pool, client: pipeline.starter, logger: createMemoryLogger(), pollIntervalMs: 100 });
  relays.push(relay);
  await eventually(async () => (await logsOf(id)).length >= 1, 30000);
  await eventually(
    async () =>
      (await side.pool.query(`SELECT bool_and(dispatched_at IS NOT NULL) AS done FROM forge_jobs.outbox WHERE record->>'id' = $1`, [id]))
        .rows[0].done,
  );
  expect(await workflowsOf(id)).toEqual([workflowId]);
  expect(await logsOf(id)).toEqual(['held']);
});

test('a row whose job the running artifact lacks stays, is counted and logged once, and runs when an artifact with the job does', async () => {
  const id = nextId('unmatched');
  await inTransaction(side.pool, async (tx) => {
    const row = (await tx.query('INSERT INTO notes (id, title) VALUES ($1, $2) RETURNING *', [id, 'later'])).rows[0];
    await pipeline.client.enqueue(tx, 'Note', 'create', row);
  });
  const oldLogs = createMemoryLogger();
  const oldClient = createJobStarter({ artifact: older, config, logger: oldLogs });
  closers.push(() => oldClient.close());
  const old = await startRelay({ pool: side.pool, client: oldClient, logger: oldLogs, pollIntervalMs: 50, unmatchedRetryMs: 0 });
  relays.push(old);
  await eventually(
    async () => oldLogs.records.filter((r) => r.event === 'outbox.unmatched' && (r.jobs as string[]).includes('log_note')).length >= 1,
  );
  for (let i = 0; i < 3; i++) await old.sweep(); // looked at again and again: still one log line
  const mine = oldLogs.records.filter((r) => r.event === 'outbox.unmatched');
  expect(new Set(mine.map((r) => r.outbox_id)).size).toBe(mine.length);
  const {
    rows: [row],
  } = await side.pool.query(`SELECT dispatched_at, unmatched_at, dead_at, attempts FROM forge_jobs.outbox WHERE record->>'id' = $1`, [id]);
  expect(row).toMatchObject({ dispatched_at: null, dead_at: null, attempts: 0 });
  expect(row.unmatched_at).toBeInstanceOf(Date);
  const inspector = createJobInspector({ config, database: side.pool });
  closers.push(() => inspector.close());
  const stats = await inspector.stats();
  expect(stats.outbox_unmatched).toBeGreaterThanOrEqual(1);
  expect(await logsOf(id)).toEqual([]);
  await old.stop();

  const current = await startRelay({ pool: side.pool, client: pipeline.starter, logger: createMemoryLogger(), pollIntervalMs: 50 });
  relays.push(current);
  await eventually(async () => (await logsOf(id)).length === 1, 30000);
  await eventually(
    async () =>
      (await side.pool.query(`SELECT dispatched_at FROM forge_jobs.outbox WHERE record->>'id' = $1`, [id])).rows[0].dispatched_at !== null,
  );
});

function ensureBuilt(): void {
  const out = join(ROOT, 'dist', 'cli', 'outbox.js');
  const sources = ['src/cli/outbox.ts', 'src/cli/index.ts', 'src/sql/outbox.ts'].map((f) => join(ROOT, f));
  if (existsSync(out) && !sources.some((s) => statSync(s).mtimeMs > statSync(out).mtimeMs)) return;
  try {
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(ROOT, 'tsconfig.build.json')], {
      stdio: 'ignore',
    });
  } catch {
    // type errors elsewhere still emit JavaScript; the existence check below decides
  }
  if (!existsSync(out)) throw new Error('dist/cli/outbox.js is missing: run npm run build');
}

function cli(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [BIN, ...args, '--database', side.url],
      { cwd: ROOT, env: { ...process.env, FORGE_ENV: 'test' }, timeout: 30000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      },
    );
  });
}

test('a row Temporal refuses again and again backs off per row, is parked dead with its reason, and `forge-jobs outbox retry` gives it back', async () => {
  ensureBuilt();
  const id = nextId('refused');
  await inTransaction(side.pool, async (tx) => {
    const row = (await tx.query('INSERT INTO notes (id, title) VALUES ($1, $2) RETURNING *', [id, 'refused'])).rows[0];
    await pipeline.client.enqueue(tx, 'Note', 'create', row);
  });
  // A namespace the server does not have: Temporal answers, and refuses every start.
  const logs = createMemoryLogger();
  const refusing = createJobStarter({ artifact, config, temporal: { namespace: `no-such-${run}` }, logger: logs });
  closers.push(() => refusing.close());
  const relay = await startRelay({ pool: side.pool, client: refusing, logger: logs, pollIntervalMs: 100, maxAttempts: 2 });
  relays.push(relay);
  const dead = await eventually(async () => {
    const {
      rows: [r],
    } = await side.pool.query(
      `SELECT id::text AS id, attempts, dead_at, last_error, dispatched_at FROM forge_jobs.outbox WHERE record->>'id' = $1`,
      [id],
    );
    return r?.dead_at && r;
  }, 30000);
  expect(dead).toMatchObject({ attempts: 2, dispatched_at: null, last_error: expect.stringMatching(/namespace/i) });
  // one try after the first refusal, a second later (attempt² s), not one per sweep
  expect(logs.records.filter((r) => r.event === 'outbox.dispatch_failed' && r.outbox_id === dead.id)).toHaveLength(1);
  expect(logs.records.filter((r) => r.event === 'outbox.dead' && r.outbox_id === dead.id)).toHaveLength(1);
  await relay.stop();

  const inspector = createJobInspector({ config, database: side.pool });
  closers.push(() => inspector.close());
  const stats = await inspector.stats();
  expect(stats.outbox_dead).toBeGreaterThanOrEqual(1);
  const listed = await cli('outbox', 'dead', '--json');
  expect(listed.code).toBe(0);
  const parked = JSON.parse(listed.stdout) as Array<Record<string, unknown>>;
  expect(parked.find((r) => r.id === dead.id)).toMatchObject({
    entity: 'Note',
    operation: 'create',
    attempts: 2,
    last_error: expect.stringMatching(/namespace/i),
  });
  expect(listed.stdout).not.toContain('refused"'); // the record's title is never printed
  expect((await cli('outbox', 'dead')).stdout).toMatch(new RegExp(`${dead.id}\\s+Note create`));

  const retried = await cli('outbox', 'retry', dead.id);
  expect(retried).toMatchObject({ code: 0, stdout: expect.stringContaining(`gave 1 dead outbox row back to the relay: ${dead.id}`) });
  const current = await startRelay({ pool: side.pool, client: pipeline.starter, logger: createMemoryLogger(), pollIntervalMs: 50 });
  relays.push(current);
  await eventually(async () => (await logsOf(id)).length === 1, 30000);
  expect((await cli('outbox', 'retry')).stderr).toMatch(/name the outbox ids to retry, or pass --all/);
});
