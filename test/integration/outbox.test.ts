/**
 * The transactional outbox on the real dev server and Postgres: enqueue in the app's transaction, relays
 * that start each committed event's workflows exactly once (LISTEN/NOTIFY, polling sweep, SKIP LOCKED),
 * and app processes killed right after COMMIT.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { startRelay, type Relay, createJobStarter } from '../../src/admin';
import type { RuntimeConfig } from '../../src/config/types';
import { createMemoryLogger } from '../../src/log';
import { inTransaction } from '../../src/postgres/transaction';
import { migrate } from '../../src/sql/migrations';
import { INSERT_OUTBOX_SQL } from '../../src/sql/outbox';
import { SA } from '../../src/names';
import { compiled, artifact as newArtifact } from '../support/artifact-builder';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { eventually, startTestStack, temporal, testConfig, type TestStack } from '../support/stack';

const artifact = compiled(
  newArtifact()
    .entity('Note', 'notes', ['title'])
    .entity('NoteLog', 'note_logs', ['note_id', 'kind'])
    .creates('log_note', 'Note', 'NoteLog', { note_id: 'data.id', kind: '"a"' })
    .creates('log_note_too', 'Note', 'NoteLog', { note_id: 'data.id', kind: '"b"' })
    .hook('Note', 'create', ['log_note', 'log_note_too']),
);
const JOBS_PER_EVENT = 2;
const SCHEMA = `
  CREATE TABLE notes (id text PRIMARY KEY, title text);
  CREATE TABLE note_logs (id serial PRIMARY KEY, note_id text, kind text);`;

let db: TestDatabase;
/** A second app database: an outbox that only the relays a test starts itself serve. */
let side: TestDatabase;
let config: RuntimeConfig;
let pipeline: TestStack;
const relays: Relay[] = [];
const clients: Array<{ close(): Promise<void> }> = [];

const run = randomBytes(3).toString('hex');
let counter = 0;
const nextId = (tag: string) => `${tag}-${run}-${++counter}`;

beforeAll(async () => {
  [db, side] = await Promise.all([createTestDatabase('outbox'), createTestDatabase('outbox_side')]);
  await Promise.all([db.pool.query(SCHEMA), side.pool.query(SCHEMA)]);
  await migrate(side.pool);
  config = testConfig('outbox');
  pipeline = await startTestStack({ artifact, config, pool: db.pool });
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  await pipeline?.stop();
  await Promise.all([db?.drop(), side?.drop()]);
});

/** A relay on the side database, with a client of its own on the pipeline's task queue. */
async function sideRelay(options: { batchSize?: number; pollIntervalMs?: number } = {}) {
  const logger = createMemoryLogger();
  const client = createJobStarter({ artifact, config, logger });
  clients.push(client);
  const relay = await startRelay({
    pool: side.pool,
    client,
    logger,
    pollIntervalMs: options.pollIntervalMs ?? 200,
    batchSize: options.batchSize,
  });
  relays.push(relay);
  return { relay, logs: logger.records };
}

async function insertNote(tx: { query: TestDatabase['pool']['query'] }, id: string) {
  const {
    rows: [note],
  } = await tx.query('INSERT INTO notes (id, title) VALUES ($1, $2) RETURNING *', [id, `note ${id}`]);
  return note as Record<string, unknown>;
}

/** Workflows on this file's task queue, counted per ForgeRecordId (one visibility list, not one per id). */
async function workflowsPerRecord(): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  for await (const wf of (await temporal()).workflow.list({ query: `TaskQueue = "${config.jobs.taskQueue}"` })) {
    const id = wf.typedSearchAttributes.get(SA.recordId) as string;
    counts.set(id, (counts.get(id) ?? 0) + 1);
  }
  return counts;
}

async function effectsPerRecord(ids: string[]): Promise<Map<string, number>> {
  const { rows } = await db.pool.query<{ note_id: string; n: number }>(
    'SELECT note_id, count(*)::int AS n FROM note_logs WHERE note_id = ANY($1) GROUP BY note_id',
    [ids],
  );
  return new Map(rows.map((r) => [r.note_id, r.n]));
}

/** Waits until every id's jobs have all been started and have all run, then checks that nothing ran twice. */
async function expectRanOnce(ids: string[], timeoutMs = 30000): Promise<void> {
  await eventually(async () => {
    const [wfs, effects] = await Promise.all([workflowsPerRecord(), effectsPerRecord(ids)]);
    return ids.every((id) => (wfs.get(id) ?? 0) >= JOBS_PER_EVENT && (effects.get(id) ?? 0) >= JOBS_PER_EVENT);
  }, timeoutMs);
  const [wfs, effects] = await Promise.all([workflowsPerRecord(), effectsPerRecord(ids)]);
  for (const id of ids) {
    expect([id, wfs.get(id)]).toEqual([id, JOBS_PER_EVENT]);
    expect([id, effects.get(id)]).toEqual([id, JOBS_PER_EVENT]);
  }
}

async function expectNothingFor(ids: string[]): Promise<void> {
  const wfs = await workflowsPerRecord();
  const effects = await effectsPerRecord(ids);
  const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM forge_jobs.outbox WHERE record->>'id' = ANY($1)`, [ids]);
  expect(rows[0].n).toBe(0);
  for (const id of ids) {
    expect([id, wfs.get(id) ?? 0, effects.get(id) ?? 0]).toEqual([id, 0, 0]);
  }
}

test('an enqueue in a committed transaction runs its jobs exactly once; the same event twice is one run', async () => {
  const id = nextId('commit');
  const tx = await db.pool.connect();
  try {
    await tx.query('BEGIN');
    const note = await insertNote(tx, id);
    const first = await pipeline.client.enqueue(tx, 'Note', 'create', note);
    const again = await pipeline.client.enqueue(tx, 'Note', 'create', note);
    expect(first?.eventId).toMatch(/^[0-9a-f]{20}$/);
    expect(again?.eventId).toBe(first?.eventId);
    expect(await pipeline.client.enqueue(tx, 'NoteLog', 'create', { id: 1 })).toBeUndefined(); // no hook, no row
    await tx.query('COMMIT');
  } finally {
    tx.release();
  }

  const viaMode = nextId('mode');
  const explicit = nextId('explicit');
  await pipeline.client.withTransaction(db.pool, async (t, emit) => emit('Note', 'create', await insertNote(t, viaMode)), { outbox: true });
  await pipeline.client.withTransaction(
    db.pool,
    async (t, emit) => emit('Note', 'create', await insertNote(t, explicit), { eventId: 'evt-1' }),
    { outbox: true },
  );

  await expectRanOnce([id, viaMode, explicit]);
  const { rows } = await db.pool.query(
    `SELECT record->>'id' AS id, event_id, dispatched_at IS NOT NULL AS dispatched FROM forge_jobs.outbox WHERE record->>'id' = ANY($1) ORDER BY id`,
    [[id, viaMode, explicit]],
  );
  // the same event twice in one transaction is one row: the second insert found the first
  expect(rows.filter((r) => r.id === id)).toHaveLength(1);
  expect(rows.find((r) => r.id === explicit).event_id).toBe('evt-1');
  await eventually(
    async () =>
      (
        await db.pool.query(`SELECT bool_and(dispatched_at IS NOT NULL) AS all FROM forge_jobs.outbox WHERE record->>'id' = ANY($1)`, [
          [id, viaMode, explicit],
        ])
      ).rows[0].all,
  );
  const workflows = [];
  for await (const wf of (await temporal()).workflow.list({
    query: `TaskQueue = "${config.jobs.taskQueue}" AND ForgeRecordId = "${explicit}"`,
  }))
    workflows.push(wf.workflowId);
  expect(workflows.sort()).toEqual([`forge/log_note/Note/create/${explicit}/evt-1`, `forge/log_note_too/Note/create/${explicit}/evt-1`]);
});

test('a rolled-back enqueue runs nothing', async () => {
  const rolledBack = nextId('rollback');
  const thrown = nextId('thrown');
  const tx = await db.pool.connect();
  try {
    await tx.query('BEGIN');
    await pipeline.client.enqueue(tx, 'Note', 'create', await insertNote(tx, rolledBack));
    await tx.query('ROLLBACK');
  } finally {
    tx.release();
  }
  await expect(
    pipeline.client.withTransaction(
      db.pool,
      async (t, emit) => {
        emit('Note', 'create', await insertNote(t, thrown));
        throw new Error('app failed');
      },
      { outbox: true },
    ),
  ).rejects.toThrow('app failed');

  // A later commit goes through the same relay; once it has run, the rolled-back events had their chance.
  const later = nextId('later');
  await pipeline.client.withTransaction(db.pool, async (t, emit) => emit('Note', 'create', await insertNote(t, later)), { outbox: true });
  await expectRanOnce([later]);
  await expectNothingFor([rolledBack, thrown]);
});

test('withTransaction sends the outbox rows with COMMIT: a row Postgres refuses commits nothing, and the connection stays usable', async () => {
  const { Pool } = await import('pg');
  // one connection, so the failed transaction and the next one share it
  const single = new Pool({ connectionString: db.url, max: 1 });
  try {
    const refused = nextId('refused');
    // Postgres refuses text with a NUL byte: the outbox INSERT fails after the app's own INSERT succeeded,
    // and the COMMIT pipelined behind it must not commit that INSERT.
    await expect(
      pipeline.client.withTransaction(
        single,
        async (t, emit) => emit('Note', 'create', await insertNote(t, refused), { eventId: 'nul\u0000byte' }),
        { outbox: true },
      ),
    ).rejects.toThrow(/0x00|invalid byte sequence/);
    expect((await single.query('SELECT count(*)::int AS n FROM notes WHERE id = $1', [refused])).rows[0].n).toBe(0);

    // Two events in one transaction: both rows, in one round trip with the COMMIT, and the client answers in order after it.
    const [a, b] = [nextId('pair'), nextId('pair')];
    await pipeline.client.withTransaction(
      single,
      async (t, emit) => {
        emit('Note', 'create', await insertNote(t, a));
        emit('Note', 'create', await insertNote(t, b));
      },
      { outbox: true },
    );
    const client = await single.connect();
    try {
      expect((client as unknown as { pipeline: boolean }).pipeline).toBe(false);
      const { rows } = await client.query(`SELECT record->>'id' AS id FROM forge_jobs.outbox WHERE record->>'id' = ANY($1) ORDER BY id`, [
        [a, b],
      ]);
      expect(rows.map((r) => r.id)).toEqual([a, b]);
    } finally {
      client.release();
    }
    await expectRanOnce([a, b]);
    await expectNothingFor([refused]);
  } finally {
    await single.end();
  }
});

test('two relays on one outbox start every event’s workflows exactly once', async () => {
  const a = await sideRelay({ batchSize: 3, pollIntervalMs: 100 });
  const b = await sideRelay({ batchSize: 3, pollIntervalMs: 100 });
  const ids = Array.from({ length: 50 }, () => nextId('pair'));
  // Ten transactions of five events, committed at once, while both relays also sweep on their own.
  const commits = Array.from({ length: 10 }, (_, i) =>
    inTransaction(side.pool, async (t) => {
      for (const id of ids.slice(i * 5, i * 5 + 5)) await pipeline.client.enqueue(t, 'Note', 'create', await insertNote(t, id));
    }),
  );
  const sweeps = [a.relay.sweep(), b.relay.sweep(), a.relay.sweep(), b.relay.sweep()];
  await Promise.all([...commits, ...sweeps]);

  await eventually(
    async () =>
      (await side.pool.query('SELECT count(*)::int AS n FROM forge_jobs.outbox WHERE dispatched_at IS NULL')).rows[0].n === 0 && true,
    30000,
  );
  const { rows } = await side.pool.query<{ id: string; attempts: number }>('SELECT id::text AS id, attempts FROM forge_jobs.outbox');
  expect(rows).toHaveLength(50);
  // No row was refused: each was claimed and dispatched by exactly one relay.
  expect(rows.every((r) => r.attempts === 0)).toBe(true);
  const byA = a.logs.filter((r) => r.event === 'outbox.dispatched').map((r) => r.outbox_id as string);
  const byB = b.logs.filter((r) => r.event === 'outbox.dispatched').map((r) => r.outbox_id as string);
  expect([...byA, ...byB].sort()).toEqual(rows.map((r) => r.id).sort());
  expect(new Set([...byA, ...byB]).size).toBe(50);
  process.stderr.write(`[outbox] two relays: ${byA.length} + ${byB.length} rows\n`);
  // Every start that was made was a new workflow: none found its workflow already started.
  const started = [...a.logs, ...b.logs].filter((r) => r.event === 'job.enqueued').map((r) => r.job_id as string);
  expect(new Set(started).size).toBe(started.length);
  expect(started).toHaveLength(50 * JOBS_PER_EVENT);
  await expectRanOnce(ids);
});

test('a NOTIFY no one heard is picked up by the sweep', async () => {
  // Committed while no relay listens: the relay finds it when it starts.
  const early = nextId('early');
  await pipeline.client.withTransaction(side.pool, async (t, emit) => emit('Note', 'create', await insertNote(t, early)), { outbox: true });
  const { relay } = await sideRelay({ pollIntervalMs: 200 });
  await expectRanOnce([early]);

  // Written without any NOTIFY while the relay listens: only the polling sweep can see it.
  const silent = nextId('silent');
  const note = await insertNote(side.pool, silent);
  await side.pool.query(INSERT_OUTBOX_SQL, ['silent-event', 'Note', 'create', JSON.stringify(note), null, null]);
  await expectRanOnce([silent]);
  expect(await relay.sweep()).toBe(0);
});

test('app processes killed by SIGKILL right after COMMIT lose nothing and duplicate nothing', async () => {
  const fixture = join(__dirname, '..', 'fixtures', 'outbox-child.ts');
  // Node 20 has no TypeScript of its own: load the fixture (and src) through the same swc transform jest uses.
  const bootstrap = `
    const { transformSync } = require('@swc/core');
    const { readFileSync } = require('node:fs');
    require.extensions['.ts'] = (m, f) => m._compile(transformSync(readFileSync(f, 'utf8'), {
      filename: f, module: { type: 'commonjs' }, jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    }).code, f);
    require(process.argv[1]);`;
  const root = join(__dirname, '..', '..');

  async function child(id: string, mode: 'commit' | 'hold'): Promise<void> {
    const proc = spawn(process.execPath, ['-e', bootstrap, fixture, db.url, id, mode], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<NodeJS.Signals | number | null>((resolve) => proc.on('exit', (code, signal) => resolve(signal ?? code)));
    const said = await new Promise<string>((resolve) => {
      const lines = createInterface({ input: proc.stdout });
      lines.once('line', resolve);
      proc.once('exit', () => resolve(''));
    });
    proc.kill('SIGKILL');
    expect([said, await exited, stderr]).toEqual([`${mode === 'commit' ? 'committed' : 'written'} ${id}`, 'SIGKILL', '']);
  }

  // 50 rounds, five app processes at a time; every third round also one killed before its COMMIT.
  const ROUNDS = 50;
  const PARALLEL = 5;
  const committed: string[] = [];
  const held: string[] = [];
  for (let first = 0; first < ROUNDS; first += PARALLEL) {
    const batch: Promise<void>[] = [];
    for (let round = first; round < Math.min(first + PARALLEL, ROUNDS); round++) {
      const id = nextId(`child${round}`);
      committed.push(id);
      batch.push(child(id, 'commit'));
      if (round % 3 === 0) {
        const h = nextId(`held${round}`);
        held.push(h);
        batch.push(child(h, 'hold'));
      }
    }
    await Promise.all(batch);
  }
  await expectRanOnce(committed);
  await expectNothingFor(held);
  const { rows } = await db.pool.query(`SELECT count(*)::int AS n FROM notes WHERE id = ANY($1)`, [held]);
  expect(rows[0].n).toBe(0);
});

test('a relay that started the workflows but did not commit leaves rows whose next start is a no-op', async () => {
  const logger = createMemoryLogger();
  const real = createJobStarter({ artifact, config, logger });
  clients.push(real);
  let crashes = 0;
  // Starts for real, then fails as a relay that died before COMMIT would: the row stays undispatched.
  const flaky = {
    async dispatch(...args: Parameters<typeof real.dispatch>) {
      const started = await real.dispatch(...args);
      if (crashes++ === 0) throw new Error('relay died before commit');
      return started;
    },
  };
  const relay = await startRelay({ pool: side.pool, client: flaky, logger, pollIntervalMs: 100 });
  relays.push(relay);
  const id = nextId('crash');
  await inTransaction(side.pool, async (t) => pipeline.client.enqueue(t, 'Note', 'create', await insertNote(t, id)));
  await expectRanOnce([id]);
  const row = await eventually(async () => {
    const {
      rows: [r],
    } = await side.pool.query(`SELECT attempts, last_error, dispatched_at FROM forge_jobs.outbox WHERE record->>'id' = $1`, [id]);
    return r?.dispatched_at && r;
  });
  // One refusal counted (tried again a second later), then dispatched.
  expect(row).toMatchObject({ attempts: 1, last_error: null });
  expect(logger.records.filter((r) => r.event === 'outbox.dispatch_failed')).toHaveLength(1);
  // The second pass found both workflows already started: no new start.
  expect(logger.records.filter((r) => r.event === 'job.enqueued')).toHaveLength(JOBS_PER_EVENT);
});

test('the listener reconnects after its connection dies, and NOTIFY works again', async () => {
  const { logs } = await sideRelay({ pollIntervalMs: 60000 }); // no polling help within this test
  const { rows } = await side.pool.query(
    `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN forge_jobs_outbox' AND pid <> pg_backend_pid()`,
  );
  expect(rows.length).toBeGreaterThan(0);
  await eventually(async () => logs.some((r) => r.event === 'outbox.listen_restored'));
  const id = nextId('relisten');
  await pipeline.client.withTransaction(side.pool, async (t, emit) => emit('Note', 'create', await insertNote(t, id)), { outbox: true });
  await expectRanOnce([id]);
});

test('dispatched rows older than the retention are pruned; undispatched rows never are', async () => {
  await side.pool.query(INSERT_OUTBOX_SQL, ['never-dispatched', 'Nothing', 'create', '{}', null, null]);
  await side.pool.query(`UPDATE forge_jobs.outbox SET attempts = 99 WHERE event_id = 'never-dispatched'`);
  const before = (await side.pool.query(`SELECT count(*)::int AS n FROM forge_jobs.outbox WHERE dispatched_at IS NOT NULL`)).rows[0].n;
  expect(before).toBeGreaterThan(0);
  const logger = createMemoryLogger();
  // A client that refuses: the undispatched row must survive both the failure and the prune.
  const relay = await startRelay({
    pool: side.pool,
    client: { dispatch: async () => Promise.reject(new Error('down')) },
    logger,
    retentionMs: 0,
    pollIntervalMs: 60000,
  });
  relays.push(relay);
  await eventually(async () => logger.records.some((r) => r.event === 'outbox.pruned' && r.deleted === before));
  const left = await side.pool.query(`SELECT event_id, dispatched_at FROM forge_jobs.outbox`);
  expect(left.rows).toEqual([{ event_id: 'never-dispatched', dispatched_at: null }]);
  expect(await relay.prune()).toBe(0);
});
