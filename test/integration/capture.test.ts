/**
 * Database capture on the real dev server and Postgres: triggers installed from the artifact's hooks turn
 * plain SQL on a plain connection (no forge-jobs code in the writer) into jobs, exactly once per committed
 * write; install/status/remove; the helpdesk's tickets inserted with SQL mail the organization's agents.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client as PgClient } from 'pg';
import { captureStatus, installCapture, removeCapture, resolveArtifact, startRelay, type Relay, createJobStarter } from '../../src/admin';
import type { Artifact } from '../../src/artifact/types';
import type { RuntimeConfig } from '../../src/config/types';
import { compiled, artifact as newArtifact } from '../support/artifact-builder';
import { startMailSink } from '../../src/dev/mail-sink';
import { createMemoryLogger } from '../../src/log';
import { transactionEventId } from '../../src/outbox/event';
import { migrate } from '../../src/sql/migrations';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { HELPDESK_RELATIONS, helpdeskRelations, helpdeskRelationsDatabase } from '../support/helpdesk';
import { eventually, startTestStack, temporal, testConfig, uniqueQueue, type TestStack } from '../support/stack';

const OPERATIONS = ['create', 'update', 'delete'] as const;
const rawArtifact = compiled(
  OPERATIONS.reduce(
    (b, op) =>
      b
        .creates(`log_${op}`, 'Note', 'NoteLog', { note_id: 'data.id', kind: `"${op}"`, title: 'data.title' })
        .hook('Note', op, [`log_${op}`]),
    newArtifact().entity('Note', 'notes', ['title', 'body']).entity('NoteLog', 'note_logs', ['note_id', 'kind', 'title']),
  ),
);
const SCHEMA = `
  CREATE TABLE notes (id serial PRIMARY KEY, title text, body text);
  CREATE TABLE note_logs (id serial PRIMARY KEY, note_id text, kind text, title text);`;
const MAX_RECORD_BYTES = 2048;

let db: TestDatabase;
/** A database whose outbox only relays started by a test serve, on task queues no worker polls. */
let side: TestDatabase;
let config: RuntimeConfig;
let artifact: Artifact;
let pipeline: TestStack;
/** A plain connection: the writer knows nothing of forge-jobs. */
let psql: PgClient;
const relays: Relay[] = [];
const closers: Array<() => Promise<void>> = [];

beforeAll(async () => {
  [db, side] = await Promise.all([createTestDatabase('capture'), createTestDatabase('capture_side')]);
  await Promise.all([db.pool.query(SCHEMA), side.pool.query(SCHEMA)]);
  config = testConfig('capture', { jobs: { max_record_bytes: MAX_RECORD_BYTES } });
  artifact = resolveArtifact(rawArtifact, config);
  pipeline = await startTestStack({ artifact: rawArtifact, config, pool: db.pool });
  await installCapture(db.pool, artifact, MAX_RECORD_BYTES);
  psql = new PgClient({ connectionString: db.url });
  await psql.connect();
});

afterEach(async () => {
  await Promise.all(relays.splice(0).map((r) => r.stop()));
  await Promise.all(closers.splice(0).map((c) => c()));
});

afterAll(async () => {
  await psql?.end();
  await pipeline?.stop();
  await Promise.all([db?.drop(), side?.drop()]);
});

async function logsOf(noteIds: unknown[]): Promise<Array<{ note_id: string; kind: string; title: string | null }>> {
  const { rows } = await db.pool.query('SELECT note_id, kind, title FROM note_logs WHERE note_id = ANY($1) ORDER BY id', [
    noteIds.map(String),
  ]);
  return rows;
}

async function workflowsOf(noteId: unknown): Promise<string[]> {
  const ids: string[] = [];
  for await (const wf of (await temporal()).workflow.list({
    query: `TaskQueue = "${config.jobs.taskQueue}" AND ForgeRecordId = "${noteId}"`,
  }))
    ids.push(wf.workflowId);
  return ids.sort();
}

async function outboxRows(pool = db.pool, noteId?: unknown) {
  const { rows } = await pool.query(
    `SELECT event_id, operation, record, dispatched_at IS NOT NULL AS dispatched FROM forge_jobs.outbox WHERE $1::text IS NULL OR record->>'id' = $1 ORDER BY id`,
    [noteId === undefined ? null : String(noteId)],
  );
  return rows;
}

test('INSERT, UPDATE and DELETE in plain SQL start their jobs once each; a no-op UPDATE and a rolled-back write start nothing', async () => {
  const {
    rows: [note],
  } = await psql.query(`INSERT INTO notes (title) VALUES ('first') RETURNING id`);
  await psql.query(`UPDATE notes SET title = title WHERE id = $1`, [note.id]); // changes no column
  await psql.query(`UPDATE notes SET title = 'second' WHERE id = $1`, [note.id]);
  await psql.query('BEGIN');
  await psql.query(`UPDATE notes SET title = 'rolled back' WHERE id = $1`, [note.id]);
  const {
    rows: [ghost],
  } = await psql.query(`INSERT INTO notes (title) VALUES ('ghost') RETURNING id`);
  await psql.query('ROLLBACK');
  await psql.query(`DELETE FROM notes WHERE id = $1`, [note.id]);

  await eventually(async () => (await logsOf([note.id])).length >= 3, 30000, 'three jobs ran');
  // a write after the rolled-back ones, through the same relay: once its job has run, theirs had their chance
  const {
    rows: [later],
  } = await psql.query(`INSERT INTO notes (title) VALUES ('later') RETURNING id`);
  await eventually(async () => (await logsOf([later.id])).length === 1, 30000, 'the later job ran');

  const byKind = (a: { kind: string }, b: { kind: string }) => a.kind.localeCompare(b.kind); // jobs finish in any order
  expect((await logsOf([note.id, ghost.id])).sort(byKind)).toEqual([
    { note_id: String(note.id), kind: 'create', title: 'first' },
    { note_id: String(note.id), kind: 'delete', title: 'second' },
    { note_id: String(note.id), kind: 'update', title: 'second' },
  ]);
  expect((await outboxRows(db.pool, note.id)).map((r) => [r.operation, r.dispatched])).toEqual([
    ['create', true],
    ['update', true],
    ['delete', true],
  ]);
  expect(await outboxRows(db.pool, ghost.id)).toEqual([]);
  expect(await workflowsOf(note.id)).toHaveLength(3);
});

test('an app that enqueues a write that capture also sees starts each job once', async () => {
  const tx = await db.pool.connect();
  let id: unknown;
  let enqueued: Awaited<ReturnType<TestStack['client']['enqueue']>>;
  try {
    await tx.query('BEGIN');
    const {
      rows: [note],
    } = await tx.query(`INSERT INTO notes (title) VALUES ('both paths') RETURNING *`);
    id = note.id;
    enqueued = await pipeline.client.enqueue(tx, 'Note', 'create', note);
    // the id is the transaction's, and the JavaScript twin of forge_jobs.event_id computes the same
    const {
      rows: [{ txid }],
    } = await tx.query('SELECT pg_current_xact_id()::text AS txid');
    expect(enqueued!.eventId).toBe(transactionEventId(txid, 'Note', 'create', String(note.id)));
    await tx.query('COMMIT');
  } finally {
    tx.release();
  }
  // withTransaction's outbox mode writes its rows just before COMMIT, after the trigger did
  const viaMode = await pipeline.client.withTransaction(
    db.pool,
    async (t, emit) => {
      const {
        rows: [note],
      } = await t.query(`INSERT INTO notes (title) VALUES ('both paths, outbox mode') RETURNING *`);
      emit('Note', 'create', note);
      return note;
    },
    { outbox: true },
  );

  await eventually(async () => (await logsOf([id, viaMode.id])).length >= 2, 30000, 'both jobs ran');
  const rows = await outboxRows(db.pool, id);
  expect(rows).toHaveLength(1);
  expect(rows[0].event_id).toBe(enqueued!.eventId);
  expect(await outboxRows(db.pool, viaMode.id)).toHaveLength(1);
  expect(await workflowsOf(id)).toEqual(enqueued!.jobs.map((j) => j.workflowId));
  expect(await workflowsOf(viaMode.id)).toHaveLength(1);
  expect(await logsOf([id, viaMode.id])).toHaveLength(2);
});

test('a row larger than max_record_bytes is captured as its id and read by the worker', async () => {
  const body = 'x'.repeat(MAX_RECORD_BYTES * 2);
  const {
    rows: [note],
  } = await psql.query(`INSERT INTO notes (title, body) VALUES ('large', $1) RETURNING id`, [body]);
  await eventually(async () => (await logsOf([note.id])).length === 1, 30000, 'the job ran');
  expect(await logsOf([note.id])).toEqual([{ note_id: String(note.id), kind: 'create', title: 'large' }]);
  const [row] = await outboxRows(db.pool, note.id);
  expect(row.record).toEqual({ id: note.id, $forge_jobs_reread: true });
});

test('a statement of 10,000 rows writes 10,000 events in its transaction, and the relay starts them all', async () => {
  await migrate(side.pool);
  await installCapture(side.pool, artifact, MAX_RECORD_BYTES);
  const queue = uniqueQueue('capture-bulk'); // no worker polls it: the starts are what is measured
  const client = createJobStarter({ artifact, config, taskQueue: queue, logger: createMemoryLogger() });
  closers.push(() => client.close());

  await side.pool.query(`INSERT INTO notes (title) SELECT 'bulk ' || g FROM generate_series(1, 10000) g`);
  const {
    rows: [counted],
  } = await side.pool.query(
    `SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS events FROM forge_jobs.outbox WHERE operation = 'create'`,
  );
  expect(counted).toEqual({ n: 10000, events: 10000 });

  const began = Date.now();
  const relay = await startRelay({ pool: side.pool, client, batchSize: 500, pollIntervalMs: 200, logger: createMemoryLogger() });
  relays.push(relay);
  await eventually(
    async () => (await side.pool.query(`SELECT count(*)::int AS n FROM forge_jobs.outbox WHERE dispatched_at IS NULL`)).rows[0].n === 0,
    240000,
    'all dispatched',
  );
  process.stderr.write(`10,000 captured events dispatched in ${Date.now() - began} ms\n`);
  const started = await eventually(
    async () => {
      const { count } = await (await temporal()).workflow.count(`TaskQueue = "${queue}"`);
      return count === 10000 && count;
    },
    60000,
    '10,000 workflows visible',
  );
  expect(started).toBe(10000);
}, 360000);

test('without the outbox table the write still succeeds and is not captured', async () => {
  await migrate(side.pool);
  await installCapture(side.pool, artifact, MAX_RECORD_BYTES);
  const writer = new PgClient({ connectionString: side.url });
  await writer.connect();
  const warnings: string[] = [];
  writer.on('notice', (n) => warnings.push(n.message ?? ''));
  try {
    await side.pool.query('ALTER TABLE forge_jobs.outbox RENAME TO outbox_moved');
    const { rows } = await writer.query(`INSERT INTO notes (title) VALUES ('uncaptured') RETURNING id`);
    expect(rows).toHaveLength(1);
    expect(warnings.join('\n')).toMatch(/forge_jobs\.outbox does not exist; Note create not captured/);
    // a failure inside the trigger (here: the outbox refuses the row) is a warning too, never the writer's error
    await side.pool.query('ALTER TABLE forge_jobs.outbox_moved RENAME TO outbox');
    await side.pool.query(`ALTER TABLE forge_jobs.outbox ADD CONSTRAINT refuse_notes CHECK (entity <> 'Note') NOT VALID`);
    await writer.query(`UPDATE notes SET title = 'still uncaptured' WHERE id = $1`, [rows[0].id]);
    expect(warnings.join('\n')).toMatch(/Note update not captured: new row for relation "outbox" violates check constraint "refuse_notes"/);
    await side.pool.query('ALTER TABLE forge_jobs.outbox DROP CONSTRAINT refuse_notes');
    expect((await side.pool.query(`SELECT title FROM notes WHERE id = $1`, [rows[0].id])).rows).toEqual([{ title: 'still uncaptured' }]);
    expect(await outboxRows(side.pool, rows[0].id)).toEqual([]);
  } finally {
    await side.pool.query('ALTER TABLE IF EXISTS forge_jobs.outbox_moved RENAME TO outbox').catch(() => undefined);
    await side.pool.query('ALTER TABLE forge_jobs.outbox DROP CONSTRAINT IF EXISTS refuse_notes').catch(() => undefined);
    await writer.end();
  }
});

test('a role that may write the table but not the outbox still has its rows captured', async () => {
  await migrate(side.pool);
  await installCapture(side.pool, artifact, MAX_RECORD_BYTES);
  const role = `capture_writer_${Math.random().toString(36).slice(2, 8)}`;
  await side.pool.query(
    `CREATE ROLE ${role} LOGIN PASSWORD 'writer'; GRANT INSERT ON notes TO ${role}; GRANT USAGE ON SEQUENCE notes_id_seq TO ${role}`,
  );
  const url = new URL(side.url);
  url.username = role;
  url.password = 'writer';
  const writer = new PgClient({ connectionString: url.toString() });
  try {
    await writer.connect();
    await expect(writer.query(`SELECT count(*) FROM forge_jobs.outbox`)).rejects.toThrow(/permission denied/);
    await writer.query(`INSERT INTO notes (id, title) VALUES (-1, 'by a restricted role')`);
    expect((await outboxRows(side.pool, -1)).map((r) => r.record.title)).toEqual(['by a restricted role']);
  } finally {
    await writer.end().catch(() => undefined);
    await side.pool.query(`DELETE FROM notes WHERE id = -1; DELETE FROM forge_jobs.outbox WHERE record->>'id' = '-1'`);
    await side.pool.query(`REVOKE ALL ON notes FROM ${role}; REVOKE ALL ON SEQUENCE notes_id_seq FROM ${role}; DROP ROLE ${role}`);
  }
});

test('install is idempotent, status reports hooks added and removed, remove drops exactly what install created', async () => {
  const fresh = await createTestDatabase('capture_status');
  closers.push(() => fresh.drop());
  await fresh.pool.query(SCHEMA);
  // an unrelated trigger of the app's own, which remove must leave alone
  await fresh.pool.query(`CREATE FUNCTION app_touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
    CREATE TRIGGER app_touch BEFORE UPDATE ON notes FOR EACH ROW EXECUTE FUNCTION app_touch();`);
  const states = async (a: Artifact) =>
    (await captureStatus(fresh.pool, a, MAX_RECORD_BYTES)).entries.map((e) => `${e.operation}:${e.state}`);

  expect(await states(artifact)).toEqual(['create:missing', 'update:missing', 'delete:missing']);
  expect((await installCapture(fresh.pool, artifact, MAX_RECORD_BYTES)).map((c) => c.action)).toEqual(['created', 'created', 'created']);
  expect((await installCapture(fresh.pool, artifact, MAX_RECORD_BYTES)).map((c) => c.action)).toEqual([
    'unchanged',
    'unchanged',
    'unchanged',
  ]);
  expect(await states(artifact)).toEqual(['create:installed', 'update:installed', 'delete:installed']);

  // the artifact changes: the delete hook goes, a hook on NoteLog comes
  const changed = resolveArtifact(
    {
      ...rawArtifact,
      jobs: { ...rawArtifact.jobs, log_log: { ...rawArtifact.jobs.log_create, name: 'log_log', input_entity: 'NoteLog' } },
      hooks: [
        ...rawArtifact.hooks.filter((h) => h.operation !== 'delete'),
        { entity: 'NoteLog', timing: 'after', operation: 'create', jobs: ['log_log'] },
      ],
    },
    config,
  );
  expect(await states(changed)).toEqual(['create:installed', 'update:installed', 'create:missing', 'delete:extra']);
  // a different max_record_bytes makes the generated triggers stale
  expect((await captureStatus(fresh.pool, artifact, 100)).entries.map((e) => e.state)).toEqual(['stale', 'stale', 'stale']);
  const applied = await installCapture(fresh.pool, changed, MAX_RECORD_BYTES);
  expect(applied.map((c) => `${c.entity}.${c.operation}:${c.action}`)).toEqual([
    'Note.create:unchanged',
    'Note.update:unchanged',
    'NoteLog.create:created',
    'Note.delete:dropped',
  ]);
  expect((await captureStatus(fresh.pool, changed, MAX_RECORD_BYTES)).ok).toBe(true);

  expect((await removeCapture(fresh.pool)).map((c) => c.action)).toEqual(['dropped', 'dropped', 'dropped']);
  const { rows: triggers } = await fresh.pool.query(`SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname`);
  expect(triggers).toEqual([{ tgname: 'app_touch' }]);
  const { rows: functions } = await fresh.pool.query(
    `SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'forge_jobs' ORDER BY 1`,
  );
  expect(functions).toEqual([{ proname: 'event_id' }]);
  expect(await states(artifact)).toEqual(['create:missing', 'update:missing', 'delete:missing']);
});

test('forge-jobs capture install, status and remove on the command line', async () => {
  const fresh = await createTestDatabase('capture_cli');
  closers.push(() => fresh.drop());
  await fresh.pool.query(SCHEMA);
  const dir = mkdtempSync(join(tmpdir(), 'forge-capture-'));
  const artifactPath = join(dir, 'artifact.json');
  writeFileSync(artifactPath, JSON.stringify(rawArtifact));
  const cli = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [join(__dirname, '..', '..', 'bin', 'forge-jobs.js'), 'capture', ...args, '--database', fresh.url],
        (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
      );
    });

  const missing = await cli(['status', '--artifact', artifactPath]);
  expect(missing.code).toBe(1);
  expect(missing.stdout).toMatch(/Note\s+create\s+notes\s+forge_jobs_Note_create\s+missing/);
  const installed = await cli(['install', '--artifact', artifactPath, '--json']);
  expect(installed.code).toBe(0);
  expect(JSON.parse(installed.stdout).changes.map((c: { action: string }) => c.action)).toEqual(['created', 'created', 'created']);
  const ok = await cli(['status', '--artifact', artifactPath, '--json']);
  expect(ok.code).toBe(0);
  expect(JSON.parse(ok.stdout).ok).toBe(true);

  // the delete hook removed from the artifact: status says extra until install drops it
  writeFileSync(artifactPath, JSON.stringify({ ...rawArtifact, hooks: rawArtifact.hooks.filter((h) => h.operation !== 'delete') }));
  const extra = await cli(['status', '--artifact', artifactPath]);
  expect(extra.code).toBe(1);
  expect(extra.stdout).toMatch(/delete\s+notes\s+forge_jobs_Note_delete\s+extra/);
  expect((await cli(['install', '--artifact', artifactPath])).stdout).toMatch(/forge_jobs_Note_delete\s+dropped/);

  // a table the artifact names but the database lacks: one line naming it, and nothing installed
  const kept = JSON.parse(readFileSync(artifactPath, 'utf8'));
  writeFileSync(
    artifactPath,
    JSON.stringify({ ...kept, entities: { ...kept.entities, Note: { ...kept.entities.Note, table: 'no_such_table' } } }),
  );
  const refused = await cli(['install', '--artifact', artifactPath]);
  expect(refused.code).toBe(1);
  expect(refused.stderr).toMatch(
    /^forge-jobs capture install: capture of Note create on table no_such_table: relation "no_such_table" does not exist; nothing was installed/m,
  );
  expect((await fresh.pool.query(`SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1`)).rows).toEqual([
    { tgname: 'forge_jobs_Note_create' },
    { tgname: 'forge_jobs_Note_update' },
  ]);
  writeFileSync(artifactPath, JSON.stringify(kept));

  const removed = await cli(['remove', '--json']);
  expect(JSON.parse(removed.stdout).changes).toHaveLength(2);
  expect((await fresh.pool.query(`SELECT count(*)::int AS n FROM pg_trigger WHERE NOT tgisinternal`)).rows[0].n).toBe(0);
});

describe('the helpdesk', () => {
  let helpdesk: TestDatabase;
  let sink: Awaited<ReturnType<typeof startMailSink>>;
  let desk: TestStack;

  beforeAll(async () => {
    helpdesk = await helpdeskRelationsDatabase();
    sink = await startMailSink();
    const deskConfig = testConfig('capture-helpdesk', {
      email: { host: '127.0.0.1', port: sink.smtpPort, from: 'helpdesk@forge.test' },
      relations: helpdeskRelations,
      jobs: {
        notify_agents: { subject: 'New ticket: {{trigger.subject}}' },
        notify_author: { subject: 'Updated: {{trigger.subject}} is {{trigger.status}}' },
      },
    });
    desk = await startTestStack({ artifact: join(HELPDESK_RELATIONS, 'artifact.json'), config: deskConfig, pool: helpdesk.pool });
    await installCapture(helpdesk.pool, desk.client.artifact, MAX_RECORD_BYTES);
  });

  afterAll(async () => {
    await desk?.stop();
    await sink?.close();
    await helpdesk?.drop();
  });

  test('a ticket inserted with SQL mails its organization’s agents; closing it with SQL mails its author', async () => {
    const sql = new PgClient({ connectionString: helpdesk.url });
    await sql.connect();
    try {
      const {
        rows: [ticket],
      } = await sql.query(
        `INSERT INTO tickets (subject, body, org_id, author_id)
         SELECT 'Fax on fire', 'Smoke.', o.id, u.id FROM organizations o JOIN organization_members m ON m.organization_id = o.id JOIN users u ON u.id = m.user_id
          WHERE o.name = 'Acme' AND u.role = 'customer' ORDER BY u.email LIMIT 1 RETURNING *`,
      );
      const { rows: agents } = await helpdesk.pool.query(
        `SELECT u.email FROM users u JOIN organization_members m ON m.user_id = u.id WHERE m.organization_id = $1 AND u.role = 'agent' ORDER BY u.email`,
        [ticket.org_id],
      );
      expect(agents.length).toBeGreaterThan(0);
      const created = await sink.waitFor(
        (all) => all.filter((m) => m.subject === 'New ticket: Fax on fire').length >= agents.length,
        30000,
      );
      expect(
        created
          .filter((m) => m.subject === 'New ticket: Fax on fire')
          .flatMap((m) => m.to)
          .sort(),
      ).toEqual(agents.map((a) => a.email));

      await sql.query(`UPDATE tickets SET status = 'closed' WHERE id = $1`, [ticket.id]);
      const {
        rows: [author],
      } = await helpdesk.pool.query('SELECT email FROM users WHERE id = $1', [ticket.author_id]);
      const updated = await sink.waitFor((all) => all.some((m) => m.subject === 'Updated: Fax on fire is closed'), 30000);
      expect(updated.filter((m) => m.subject === 'Updated: Fax on fire is closed').flatMap((m) => m.to)).toEqual([author.email]);
    } finally {
      await sql.end();
    }
  });
});
