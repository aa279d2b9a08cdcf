/**
 * All SQL of the transactional outbox (table forge_jobs.outbox, created by migration 2). Values are always
 * bind parameters; the only identifiers are our own.
 */
import type { Statement } from './statement';

export const OUTBOX_TABLE = 'forge_jobs.outbox';
/** The NOTIFY channel enqueue signals on (delivered at COMMIT, dropped on ROLLBACK). */
export const OUTBOX_CHANNEL = 'forge_jobs_outbox';

/** Migration 2 (src/sql/migrations.ts): frozen once released; change the table with a new migration. */
export const CREATE_OUTBOX_SQL = `
  CREATE TABLE IF NOT EXISTS forge_jobs.outbox (
    id bigserial PRIMARY KEY,
    event_id text NOT NULL,
    entity text NOT NULL,
    operation text NOT NULL,
    record jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    dispatched_at timestamptz,
    attempts integer NOT NULL DEFAULT 0,
    last_error text
  );
  CREATE INDEX IF NOT EXISTS outbox_undispatched_idx ON forge_jobs.outbox (id) WHERE dispatched_at IS NULL;
  CREATE INDEX IF NOT EXISTS outbox_dispatched_at_idx ON forge_jobs.outbox (dispatched_at) WHERE dispatched_at IS NOT NULL;`;

/** $1 event_id, $2 entity, $3 operation, $4 record (json text). Returns id. */
export const INSERT_OUTBOX_SQL = `
  INSERT INTO forge_jobs.outbox (event_id, entity, operation, record) VALUES ($1, $2, $3, $4::jsonb) RETURNING id::text AS id`;

/** The row and its NOTIFY in one statement: one round trip inside the app's transaction instead of two. */
export const ENQUEUE_OUTBOX_SQL = `WITH row AS (${INSERT_OUTBOX_SQL}) SELECT id, pg_notify('${OUTBOX_CHANNEL}', '') FROM row`;

export const LISTEN_OUTBOX_SQL = `LISTEN ${OUTBOX_CHANNEL}`;

/**
 * Claims undispatched rows after a cursor, oldest first; rows another relay holds are skipped, not waited for.
 * $1 cursor id (exclusive), $2 batch size. Run inside a transaction: the locks last until COMMIT.
 */
export const CLAIM_OUTBOX_SQL = `
  SELECT id::text AS id, event_id, entity, operation, record, attempts
    FROM forge_jobs.outbox
   WHERE dispatched_at IS NULL AND id > $1::bigint
   ORDER BY id
   LIMIT $2
     FOR UPDATE SKIP LOCKED`;

/** $1 ids (text[]). */
export const MARK_DISPATCHED_SQL = `
  UPDATE forge_jobs.outbox SET dispatched_at = now(), attempts = attempts + 1, last_error = NULL WHERE id = ANY($1::bigint[])`;

/** $1 id, $2 error message. */
export const MARK_FAILED_SQL = `
  UPDATE forge_jobs.outbox SET attempts = attempts + 1, last_error = $2 WHERE id = $1::bigint`;

/** $1 retention in milliseconds, $2 max rows per call. Returns the number deleted as rowCount. */
export const PRUNE_OUTBOX_SQL = `
  DELETE FROM forge_jobs.outbox WHERE id IN (
    SELECT id FROM forge_jobs.outbox
     WHERE dispatched_at IS NOT NULL AND dispatched_at < now() - ($1::bigint * interval '1 millisecond')
     LIMIT $2)`;

/** Anything with .query (a pg Client, PoolClient or Pool). */
export interface Queryable {
  query(text: string, values?: unknown[]): Promise<{ rows: any[]; rowCount: number | null }>;
}

export interface OutboxRowInput {
  eventId: string;
  entity: string;
  operation: string;
  record: Record<string, unknown>;
}

/** The row and its NOTIFY as one statement, for `tx` inside the app's BEGIN; its answer is the row id. */
export function enqueueOutboxStatement(row: OutboxRowInput): Statement {
  return { text: ENQUEUE_OUTBOX_SQL, values: [row.eventId, row.entity, row.operation, JSON.stringify(row.record)] };
}

/**
 * Writes one outbox row and signals the relay, on `tx` (a client inside the app's BEGIN). Both take effect
 * at COMMIT and vanish on ROLLBACK. Returns the row id.
 */
export async function insertOutboxRow(tx: Queryable, row: OutboxRowInput): Promise<string> {
  const q = enqueueOutboxStatement(row);
  const { rows } = await tx.query(q.text, q.values);
  return rows[0].id as string;
}
