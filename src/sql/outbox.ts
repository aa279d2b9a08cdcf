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
 * ids anyway, so all but the first of them go before the index is built (migration 6).
 */
export const OUTBOX_EVENT_KEY = `(event_id, entity, operation, (coalesce(record->>'id', '')))`;

/**
 * The body of forge_jobs.event_id as an expression over SQL text arguments: the id of one event of one
 * transaction, the same for the trigger that captured a row and for an enqueue of the same write, so the
 * outbox keeps one of them. Its JavaScript twin is transactionEventId (src/outbox/event.ts). The capture
 * trigger writes it out rather than calling the function: convert_to is only STABLE, so Postgres does not
 * inline the IMMUTABLE function, and a call per row of a 10,000-row statement costs more than the row.
 */
export function eventIdExpression(txid: string, entity: string, operation: string, recordId: string): string {
  return `substr(encode(sha256(convert_to(${txid} || '|' || ${entity} || '|' || ${operation} || '|' || ${recordId}, 'UTF8')), 'hex'), 1, 20)`;
}

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

/**
 * Migration 5: the event id of a known transaction, computed where the transaction is (the JS twin is
 * transactionEventId in src/outbox/event.ts; both produce the same string); what the relay needs to never
 * drop and never spin: the jobs named at enqueue, a lease (no relay claims the row before lease_until),
 * rows parked dead after repeated refusals, and when a row was first found without a matching hook.
 */
export const OUTBOX_EDGES_SQL = `
  CREATE OR REPLACE FUNCTION forge_jobs.event_id(txid xid8, entity text, operation text, record_id text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $fn$ SELECT ${eventIdExpression('txid::text', 'entity', 'operation', 'record_id')} $fn$;
  ALTER TABLE forge_jobs.outbox
    ADD COLUMN IF NOT EXISTS transaction_id xid8,
    ADD COLUMN IF NOT EXISTS jobs text[],
    ADD COLUMN IF NOT EXISTS lease_until timestamptz,
    ADD COLUMN IF NOT EXISTS unmatched_at timestamptz,
    ADD COLUMN IF NOT EXISTS dead_at timestamptz;
  DROP INDEX IF EXISTS forge_jobs.outbox_undispatched_idx;
  CREATE INDEX IF NOT EXISTS outbox_pending_idx ON forge_jobs.outbox (id) WHERE dispatched_at IS NULL AND dead_at IS NULL;
  CREATE INDEX IF NOT EXISTS outbox_dead_idx ON forge_jobs.outbox (id) WHERE dead_at IS NOT NULL;`;

const OUTBOX_COLUMNS = 'event_id, entity, operation, record, transaction_id, jobs, lease_until';

/**
 * A row written outside the event's transaction (afterCommit's fallback, a script): every value given.
 * $1 event_id, $2 entity, $3 operation, $4 record (json text), $5 transaction id (text or null), $6 jobs
 * (text[] or null: the hooks of the artifact the relay runs). Returns id, event_id.
 */
export const INSERT_OUTBOX_SQL = `
  INSERT INTO forge_jobs.outbox (${OUTBOX_COLUMNS})
  VALUES ($1, $2, $3, $4::jsonb, $5::text::xid8, $6::text[], NULL)
  ON CONFLICT ${OUTBOX_EVENT_KEY} DO UPDATE SET event_id = EXCLUDED.event_id
  RETURNING id::text AS id, event_id`;

/**
 * A row written inside the app's transaction: the transaction id is taken there, and the event id from it
 * unless $1 names one. $1 event_id or null, $2 entity, $3 operation, $4 record (json text), $5 record key
 * (the record's id), $6 jobs (text[]), $7 lease in ms or null (null: the relay's at once), $8 NOTIFY the
 * relays (boolean; delivered at COMMIT). Returns id, event_id, transaction_id.
 */
export const ENQUEUE_OUTBOX_SQL = `
  WITH tx AS (SELECT pg_current_xact_id() AS x),
  row AS (
    INSERT INTO forge_jobs.outbox (${OUTBOX_COLUMNS})
    SELECT coalesce($1::text, forge_jobs.event_id(tx.x, $2::text, $3::text, $5::text)), $2, $3, $4::jsonb, tx.x, $6::text[],
           now() + ($7::bigint * interval '1 millisecond')
      FROM tx
    -- a capture trigger wrote this event in the same transaction: one row, and its id answers
    ON CONFLICT ${OUTBOX_EVENT_KEY} DO UPDATE SET event_id = EXCLUDED.event_id
    RETURNING id::text AS id, event_id, transaction_id::text AS transaction_id)
  SELECT id, event_id, transaction_id, CASE WHEN $8::boolean THEN pg_notify('${OUTBOX_CHANNEL}', '') END AS notified FROM row`;

/** The app's transaction id, sent with its COMMIT (withTransaction without the outbox). */
export const CURRENT_TRANSACTION_ID_SQL = 'SELECT pg_current_xact_id()::text AS transaction_id';

export const LISTEN_OUTBOX_SQL = `LISTEN ${OUTBOX_CHANNEL}`;

/**
 * Claims up to $2 claimable rows after cursor $1, oldest first, by leasing them for $3 ms in one autocommitted
 * statement: no transaction or lock is held while their workflows start, and a relay that dies mid-batch
 * leaves rows another claims when the lease runs out. Rows another relay is claiming are skipped.
 */
export const CLAIM_OUTBOX_SQL = `
  UPDATE forge_jobs.outbox o SET lease_until = now() + ($3::bigint * interval '1 millisecond')
   WHERE o.id IN (
     SELECT id FROM forge_jobs.outbox
      WHERE dispatched_at IS NULL AND dead_at IS NULL AND id > $1::bigint AND (lease_until IS NULL OR lease_until <= now())
      ORDER BY id
      LIMIT $2
        FOR UPDATE SKIP LOCKED)
  RETURNING o.id::text AS id, o.event_id, o.entity, o.operation, o.record, o.attempts, o.jobs, o.transaction_id::text AS transaction_id, o.unmatched_at`;

/** $1 ids (text[]). */
export const MARK_DISPATCHED_SQL = `
  UPDATE forge_jobs.outbox SET dispatched_at = now(), lease_until = NULL, last_error = NULL WHERE id = ANY($1::bigint[]) AND dispatched_at IS NULL`;

/** Gives rows back to the relays at once (the committing process could not start them). $1 ids (text[]), $2 error. */
export const RELEASE_OUTBOX_SQL = `
  UPDATE forge_jobs.outbox SET lease_until = NULL, last_error = $2 WHERE id = ANY($1::bigint[]) AND dispatched_at IS NULL`;

/**
 * A refusal: one more attempt, the next not before attempts² seconds, parked dead at $3 attempts.
 * $1 id, $2 error, $3 attempts cap. Returns attempts and whether the row is now dead.
 */
export const MARK_REFUSED_SQL = `
  UPDATE forge_jobs.outbox
     SET attempts = attempts + 1, last_error = $2,
         lease_until = now() + ((attempts + 1) * (attempts + 1)) * interval '1 second',
         dead_at = CASE WHEN attempts + 1 >= $3::int THEN now() END
   WHERE id = $1::bigint
  RETURNING attempts, dead_at IS NOT NULL AS dead`;

/** Temporal unreachable: no attempt counted, tried again after $3 ms. $1 id, $2 error. */
export const MARK_UNAVAILABLE_SQL = `
  UPDATE forge_jobs.outbox SET last_error = $2, lease_until = now() + ($3::bigint * interval '1 millisecond') WHERE id = $1::bigint`;

/**
 * No hook of the running artifact starts some of the row's jobs: the row stays, looked at again after $2 ms.
 * Returns whether this is the first time (for one log line per row). $1 id, $2 ms, $3 error.
 */
export const MARK_UNMATCHED_SQL = `
  UPDATE forge_jobs.outbox o SET unmatched_at = coalesce(o.unmatched_at, now()), last_error = $3,
         lease_until = now() + ($2::bigint * interval '1 millisecond')
    FROM (SELECT unmatched_at FROM forge_jobs.outbox WHERE id = $1::bigint) before
   WHERE o.id = $1::bigint
  RETURNING before.unmatched_at IS NULL AS first`;

/** Dead rows, newest first. $1 limit. */
export const LIST_DEAD_OUTBOX_SQL = `
  SELECT id::text AS id, event_id, entity, operation, attempts, last_error, dead_at, created_at
    FROM forge_jobs.outbox WHERE dead_at IS NOT NULL ORDER BY id DESC LIMIT $1`;

/** Gives dead rows (all when $1 is null, else those ids) back to the relays with fresh attempts. Returns ids. */
export const RETRY_DEAD_OUTBOX_SQL = `
  UPDATE forge_jobs.outbox SET dead_at = NULL, attempts = 0, lease_until = NULL
   WHERE dead_at IS NOT NULL AND ($1::bigint[] IS NULL OR id = ANY($1::bigint[]))
  RETURNING id::text AS id`;

export const COUNT_PENDING_OUTBOX_LEGACY_SQL = 'SELECT count(*)::bigint AS n FROM forge_jobs.outbox WHERE dispatched_at IS NULL';

/** Counts for stats: undispatched (dead excluded), unmatched, dead. */
export const COUNT_OUTBOX_SQL = `
  SELECT count(*) FILTER (WHERE dispatched_at IS NULL AND dead_at IS NULL)::bigint AS pending,
         count(*) FILTER (WHERE dispatched_at IS NULL AND dead_at IS NULL AND unmatched_at IS NOT NULL)::bigint AS unmatched,
         count(*) FILTER (WHERE dead_at IS NOT NULL)::bigint AS dead
    FROM forge_jobs.outbox WHERE dispatched_at IS NULL`;

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
  /** fixed by the caller; absent: taken from the transaction the row is written in */
  eventId?: string;
  entity: string;
  operation: string;
  record: Record<string, unknown>;
  /** the record's id (or, without one, its content hash): what the transaction's event id is of */
  recordKey: string;
  /** the jobs the event starts, named now so a relay whose artifact lacks one keeps the row */
  jobs: string[];
}

/**
 * The row as a statement for `tx` inside the app's BEGIN, taking the transaction's id there. `leaseMs`:
 * no relay claims the row before then (the committing process starts it itself); `notify`: wake the relays
 * at COMMIT. Its answer is one row: id, event_id, transaction_id.
 */
export function enqueueOutboxStatement(row: OutboxRowInput, options: { leaseMs?: number; notify?: boolean } = {}): Statement {
  return {
    text: ENQUEUE_OUTBOX_SQL,
    values: [
      row.eventId ?? null,
      row.entity,
      row.operation,
      JSON.stringify(row.record),
      row.recordKey,
      row.jobs.length ? row.jobs : null,
      options.leaseMs ?? null,
      options.notify ?? false,
    ],
  };
}

export interface WrittenOutboxRow {
  id: string;
  eventId: string;
  transactionId: string;
}

/**
 * Writes one outbox row and signals the relays, on `tx` (a client inside the app's BEGIN). Both take effect
 * at COMMIT and vanish on ROLLBACK.
 */
export async function insertOutboxRow(tx: Queryable, row: OutboxRowInput): Promise<WrittenOutboxRow> {
  const q = enqueueOutboxStatement(row, { notify: true });
  const { rows } = await tx.query(q.text, q.values);
  return { id: rows[0].id as string, eventId: rows[0].event_id as string, transactionId: rows[0].transaction_id as string };
}

/** A row written after the event's transaction committed (its own transaction), every value given. */
export function outboxRowStatement(row: OutboxRowInput & { eventId: string; transactionId?: string }): Statement {
  return {
    text: INSERT_OUTBOX_SQL,
    values: [
      row.eventId,
      row.entity,
      row.operation,
      JSON.stringify(row.record),
      row.transactionId ?? null,
      row.jobs.length ? row.jobs : null,
    ],
  };
}
