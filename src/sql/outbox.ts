/**
 * All SQL of the transactional outbox (table forge_jobs.outbox, created by migration 2). Values are always
 * bind parameters; the only identifiers are our own.
 */
import type { Statement } from './statement';

export const OUTBOX_TABLE = 'forge_jobs.outbox';
/** The NOTIFY channel enqueue signals on (delivered at COMMIT, dropped on ROLLBACK). */
export const OUTBOX_CHANNEL = 'forge_jobs_outbox';

/**
 * The outbox's event key. A write both captured and enqueued in one transaction gives two rows with one
 * key; the second insert finds the first. Rows already there with one key would start the same workflow
 * ids anyway, so all but the first of them go before the index is built.
 */
export const OUTBOX_EVENT_KEY = `(event_id, entity, operation, (coalesce(record->>'id', '')))`;

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

/**
 * The row and its NOTIFY in one statement: one round trip inside the app's transaction instead of two.
 * Without an explicit event id ($1 NULL) the id is the transaction's (forge_jobs.event_id), the one a
 * capture trigger gives the same write: when both wrote it, the second insert finds the first row and
 * answers its id.
 */
export const ENQUEUE_OUTBOX_SQL = `
  WITH v AS (
    SELECT coalesce($1::text, forge_jobs.event_id(pg_current_xact_id(), $2::text, $3::text, coalesce($4::jsonb->>'id', ''))) AS event_id
  ), ins AS (
    INSERT INTO forge_jobs.outbox (event_id, entity, operation, record)
    SELECT v.event_id, $2::text, $3::text, $4::jsonb FROM v
    ON CONFLICT ${OUTBOX_EVENT_KEY} DO NOTHING
    RETURNING id
  )
  SELECT v.event_id,
         coalesce((SELECT id::text FROM ins),
                  (SELECT o.id::text FROM forge_jobs.outbox o
                    WHERE o.event_id = v.event_id AND o.entity = $2::text AND o.operation = $3::text
                      AND coalesce(o.record->>'id', '') = coalesce($4::jsonb->>'id', '') LIMIT 1)) AS id,
         pg_notify('${OUTBOX_CHANNEL}', '')
    FROM v`;

export const LISTEN_OUTBOX_SQL = `LISTEN ${OUTBOX_CHANNEL}`;

/**
 * Claims undispatched rows after a cursor, oldest first; rows another relay holds are skipped, not waited for.
 * $1 cursor id (exclusive), $2 batch size. Run inside a transaction: the locks last until COMMIT.
 */
export const CLAIM_OUTBOX_SQL = `
  SELECT id::text AS id, event_id, entity, operation, record, attempts, jobs
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
  /** absent: the writing transaction's event id (forge_jobs.event_id), the one capture gives the same write */
  eventId?: string;
  entity: string;
  operation: string;
  record: Record<string, unknown>;
}

/** The row and its NOTIFY as one statement, for `tx` inside the app's BEGIN; its answer is the row id. */
export function enqueueOutboxStatement(row: OutboxRowInput): Statement {
  return { text: ENQUEUE_OUTBOX_SQL, values: [row.eventId ?? null, row.entity, row.operation, JSON.stringify(row.record)] };
}

/**
 * Writes one outbox row and signals the relay, on `tx` (a client inside the app's BEGIN). Both take effect
 * at COMMIT and vanish on ROLLBACK. Returns the row id.
 */
export async function insertOutboxRow(tx: Queryable, row: OutboxRowInput): Promise<string> {
  return (await insertOutboxEvent(tx, row)).id;
}

/** insertOutboxRow, answering the event id too (the transaction's, when the row had none). */
export async function insertOutboxEvent(tx: Queryable, row: OutboxRowInput): Promise<{ id: string; eventId: string }> {
  const q = enqueueOutboxStatement(row);
  const { rows } = await tx.query(q.text, q.values);
  return { id: rows[0].id as string, eventId: rows[0].event_id as string };
}
