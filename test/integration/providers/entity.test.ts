/** entity.create on a fresh database of the machine's Postgres (127.0.0.1). */
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { Pool } from 'pg';
import type { EffectContext, EntityCreateRequest } from '../../../src/effects/types';
import { PermanentError, TransientError } from '../../../src/errors';
import { classifyPgError, createEntityProvider, ensureLedger } from '../../../src/providers/entity';
import type { Provider } from '../../../src/providers/types';
import { insertRow } from '../../../src/sql/ledger';
import { artifact as newArtifact } from '../../support/artifact-builder';
import { createTestDatabase, type TestDatabase } from '../../support/db';

const artifact = newArtifact()
  .entity('ActivityLog', 'activity_logs', ['action', 'ticket_id', 'note'])
  .entity('AuditNote', 'audit.notes', ['body'])
  .entity('Weird', 'Weird "Table"', ['select', 'a"b'])
  .build();

let db: TestDatabase;
let provider: Provider;

beforeAll(async () => {
  db = await createTestDatabase('forge_entity');
  // drop() ends the pool without waiting for its sockets to close, then DROP DATABASE … WITH (FORCE)
  // terminates them (57P01): without a listener the pool would raise that as an unhandled error.
  db.pool.on('error', () => undefined);
  await db.pool.query(`
    CREATE TABLE activity_logs (
      id bigserial PRIMARY KEY,
      action text NOT NULL,
      ticket_id integer,
      note text,
      created_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE SCHEMA audit;
    CREATE TABLE audit.notes (body text);
    CREATE TABLE "Weird ""Table""" (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), "select" text, "a""b" text);
  `);
  provider = createEntityProvider({ pool: db.pool, artifact });
});

afterAll(async () => {
  await db?.drop();
});

let n = 0;
function ctx(key = `wf:${++n}:target:0`): EffectContext {
  return { idempotencyKey: key, job: 'log_ticket', workflowId: 'wf', attempt: 1 };
}

function create(entityName: string, fields: Record<string, unknown>): EntityCreateRequest {
  return { capability: 'entity.create', entity: entityName, fields };
}

async function count(table: string): Promise<number> {
  const { rows } = await db.pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
  return Number(rows[0].n);
}

test('inserts one row and returns its id', async () => {
  const result = await provider.execute(create('ActivityLog', { action: 'ticket_created', ticket_id: 7 }), ctx());
  expect(result.capability).toBe('entity.create');
  const { rows } = await db.pool.query('SELECT id, action, ticket_id FROM activity_logs');
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ action: 'ticket_created', ticket_id: 7 });
  expect(result.detail).toEqual({ id: Number(rows[0].id) });
});

test('the same idempotency key inserts once; the second call reports a duplicate', async () => {
  const before = await count('activity_logs');
  const key = ctx('wf-dup:target-1:0');
  const first = await provider.execute(create('ActivityLog', { action: 'once' }), key);
  const second = await provider.execute(create('ActivityLog', { action: 'once' }), { ...key, attempt: 2 });
  expect(first.detail).toHaveProperty('id');
  expect(second.detail).toEqual({ duplicate: true });
  expect(await count('activity_logs')).toBe(before + 1);
  const { rows } = await db.pool.query('SELECT key FROM forge_jobs.effect_ledger WHERE key = $1', ['wf-dup:target-1:0']);
  expect(rows).toHaveLength(1);
});

test('concurrent attempts with one key insert once', async () => {
  const before = await count('activity_logs');
  const key = ctx('wf-race:target-1:0');
  const results = await Promise.all(Array.from({ length: 5 }, () => provider.execute(create('ActivityLog', { action: 'race' }), key)));
  expect(results.filter((r) => r.detail?.duplicate === true)).toHaveLength(4);
  expect(await count('activity_logs')).toBe(before + 1);
});

test('values are bind parameters, never SQL', async () => {
  const evil = `x'); DROP TABLE activity_logs; --`;
  await provider.execute(create('ActivityLog', { action: evil }), ctx());
  const { rows } = await db.pool.query('SELECT action FROM activity_logs WHERE action = $1', [evil]);
  expect(rows).toHaveLength(1);
  expect(insertRow('t', { a: evil }).text).not.toContain('DROP');
});

test('identifiers are quoted: odd table and column names work', async () => {
  const result = await provider.execute(create('Weird', { select: 'yes', 'a"b': 'q' }), ctx());
  expect(result.detail?.id).toMatch(/^[0-9a-f-]{36}$/);
});

test('a table without an id column gives id null; a schema-qualified table works', async () => {
  const result = await provider.execute(create('AuditNote', { body: 'hello' }), ctx());
  expect(result.detail).toEqual({ id: null });
  expect(await count('audit.notes')).toBe(1);
});

test('a column the table lacks is permanent, names the column, and leaves no ledger row', async () => {
  const key = 'wf-bad:target:0';
  const err = await provider.execute(create('ActivityLog', { action: 'x', no_such_column: 1 }), ctx(key)).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PermanentError);
  expect((err as Error).message).toMatch(/no_such_column/);
  expect((err as Error).message).toMatch(/42703/);
  const { rows } = await db.pool.query('SELECT 1 FROM forge_jobs.effect_ledger WHERE key = $1', [key]);
  expect(rows).toHaveLength(0);
  // a later attempt with a fixed request still runs: the failed one did not claim the key
  await expect(provider.execute(create('ActivityLog', { action: 'x' }), ctx(key))).resolves.toMatchObject({
    detail: { id: expect.any(Number) },
  });
});

test.each<[string, Record<string, unknown>, RegExp]>([
  ['not-null violation (23502)', { note: 'no action' }, /action.*23502/],
  ['invalid input (22P02)', { action: 'a', ticket_id: 'seven' }, /integer.*22P02/],
  ['out of range (22003)', { action: 'a', ticket_id: 2 ** 40 }, /22003/],
])('%s is permanent', async (_name, fields, message) => {
  const err = await provider.execute(create('ActivityLog', fields), ctx()).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(PermanentError);
  expect((err as Error).message).toMatch(message);
});

test('an unknown entity is permanent', async () => {
  await expect(provider.execute(create('Nope', { a: 1 }), ctx())).rejects.toThrow(PermanentError);
  await expect(provider.execute(create('constructor', { a: 1 }), ctx())).rejects.toThrow(/unknown entity/);
});

test('ensureLedger can run again', async () => {
  await ensureLedger(db.pool);
  await ensureLedger(db.pool);
});

test('a database that cannot be reached is transient', async () => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const down = new Pool({ connectionString: `postgres://postgres@127.0.0.1:${port}/none`, connectionTimeoutMillis: 2000 });
  try {
    const p = createEntityProvider({ pool: down, artifact });
    await expect(p.execute(create('ActivityLog', { action: 'x' }), ctx())).rejects.toBeInstanceOf(TransientError);
  } finally {
    await down.end();
  }
});

test('classifyPgError by SQLSTATE class', () => {
  const pg = (code: string) => Object.assign(new Error(`e ${code}`), { code });
  expect(classifyPgError(pg('23505'), 'E')).toBeInstanceOf(PermanentError);
  expect(classifyPgError(pg('22001'), 'E')).toBeInstanceOf(PermanentError);
  expect(classifyPgError(pg('42P01'), 'E')).toBeInstanceOf(PermanentError);
  expect(classifyPgError(pg('08006'), 'E')).toBeInstanceOf(TransientError);
  expect(classifyPgError(pg('57P01'), 'E')).toBeInstanceOf(TransientError);
  expect(classifyPgError(pg('40001'), 'E')).toBeInstanceOf(TransientError);
  expect(classifyPgError(pg('ECONNREFUSED'), 'E')).toBeInstanceOf(TransientError);
  expect(classifyPgError(Object.assign(pg('23502'), { column: 'action' }), 'E').message).toMatch(/column action/);
});
