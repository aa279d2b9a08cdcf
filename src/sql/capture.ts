/**
 * All SQL of database capture: the statement-level triggers that write an outbox row for every row an
 * INSERT, UPDATE or DELETE commits, whatever wrote it, and the catalog queries that say what is installed.
 *
 * Identifiers (tables, columns) come from the artifact only and are quoted (quoteIdent, what format('%I')
 * does); entity and operation names enter the function body as quoted literals. Nothing here takes a value
 * from a request.
 */
import { createHash } from 'node:crypto';
import { quoteIdent, quoteTable } from './identifiers';
import { eventIdExpression, OUTBOX_CHANNEL, OUTBOX_EVENT_KEY } from './outbox';
import type { Statement } from './statement';

/** Migration 6 (src/sql/migrations.ts): frozen once released. */
export const CAPTURE_MIGRATION_SQL = `
  DELETE FROM forge_jobs.outbox o USING forge_jobs.outbox first
   WHERE o.event_id = first.event_id AND o.entity = first.entity AND o.operation = first.operation
     AND coalesce(o.record->>'id', '') = coalesce(first.record->>'id', '') AND o.id > first.id;
  CREATE UNIQUE INDEX IF NOT EXISTS outbox_event_key ON forge_jobs.outbox ${OUTBOX_EVENT_KEY};
  CREATE TABLE IF NOT EXISTS forge_jobs.backfills (
    id text PRIMARY KEY,
    job text NOT NULL,
    entity text NOT NULL,
    operation text NOT NULL,
    filter text,
    state text NOT NULL,
    cursor_id text,
    done bigint NOT NULL DEFAULT 0,
    total bigint NOT NULL DEFAULT 0,
    started_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz
  );`;

/**
 * The key a captured record carries, with its id, when the row's JSON was larger than
 * `[jobs] max_record_bytes`: the worker reads the row by id instead (src/activities/record.ts).
 */
export const REREAD_KEY = '$forge_jobs_reread';

/** Marks the comment of every function capture creates; what `capture remove` looks for. */
const COMMENT_PREFIX = 'forge-jobs capture ';

export type CaptureOperation = 'create' | 'update' | 'delete';

export interface CaptureTarget {
  entity: string;
  operation: CaptureOperation;
  /** the entity's table, as the artifact names it (optionally schema-qualified) */
  table: string;
}

/** One trigger and its function, as install creates them. */
export interface CaptureDefinition extends CaptureTarget {
  /** function name inside schema forge_jobs */
  functionName: string;
  triggerName: string;
  /** hash of the generated SQL: a definition whose hash differs from the installed one is stale */
  hash: string;
  /** CREATE OR REPLACE FUNCTION, DROP/CREATE TRIGGER, COMMENT: run in one transaction */
  install: string[];
  drop: string[];
}

const SQL_EVENT: Record<CaptureOperation, { event: string; referencing: string }> = {
  create: { event: 'INSERT', referencing: 'NEW TABLE AS forge_jobs_new' },
  update: { event: 'UPDATE', referencing: 'OLD TABLE AS forge_jobs_old NEW TABLE AS forge_jobs_new' },
  delete: { event: 'DELETE', referencing: 'OLD TABLE AS forge_jobs_old' },
};

/** Postgres truncates names at 63 bytes: a longer one is shortened here, with a hash that keeps it unique. */
function objectName(prefix: string, entity: string, operation: string): string {
  const name = `${prefix}${entity}_${operation}`;
  if (Buffer.byteLength(name) <= 63) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${prefix}${entity.slice(0, 63 - prefix.length - operation.length - 11)}_${hash}_${operation}`;
}

function literal(value: string): string {
  if (value.includes('\0')) throw new Error(`invalid SQL literal ${JSON.stringify(value)}`);
  return `'${value.replace(/'/g, "''")}'`;
}

/** The trigger function and trigger of one entity and operation; `maxRecordBytes` is `[jobs] max_record_bytes`. */
export function captureDefinition(target: CaptureTarget, maxRecordBytes: number): CaptureDefinition {
  if (!Number.isInteger(maxRecordBytes) || maxRecordBytes < 1) throw new Error(`invalid max_record_bytes ${maxRecordBytes}`);
  const { entity, operation, table } = target;
  const functionName = objectName('capture_', entity, operation);
  const triggerName = objectName('forge_jobs_', entity, operation);
  const fn = `forge_jobs.${quoteIdent(functionName)}`;
  const id = quoteIdent('id');
  const e = literal(entity);
  const op = literal(operation);
  // The rows of the statement: NEW for insert and update, OLD for delete. An update whose row is equal
  // before and after (every column) is no event.
  const rows =
    operation === 'create'
      ? 'SELECT to_jsonb(n) AS doc FROM forge_jobs_new n'
      : operation === 'delete'
        ? 'SELECT to_jsonb(o) AS doc FROM forge_jobs_old o'
        : `SELECT to_jsonb(n) AS doc FROM forge_jobs_new n JOIN forge_jobs_old o ON o.${id} = n.${id} WHERE to_jsonb(n) <> to_jsonb(o)`;
  const insert = (conflict: string) => `INSERT INTO forge_jobs.outbox (event_id, entity, operation, record, transaction_id)
      SELECT ${eventIdExpression('txid', e, op, "coalesce(r.doc->>'id', '')")}, ${e}, ${op},
             CASE WHEN octet_length(r.doc::text) > ${maxRecordBytes}
                  THEN jsonb_build_object('id', r.doc->'id', ${literal(REREAD_KEY)}, true)
                  ELSE r.doc END,
             txid::xid8
        FROM (${rows}) r${conflict};
      IF FOUND THEN
        PERFORM pg_notify(${literal(OUTBOX_CHANNEL)}, '');
      END IF;`;
  const notCaptured = `RAISE WARNING 'forge-jobs capture: % % not captured: %', ${e}, ${op}, SQLERRM;`;
  // The plain INSERT first: an ON CONFLICT arbiter would probe the event key before every row, and a
  // conflict is rare (the same write enqueued by the app in this transaction). On one, the whole statement's
  // rows go again with ON CONFLICT, where the committed row replaces the enqueued record.
  const body = `
DECLARE
  txid text := pg_current_xact_id()::text;
BEGIN
  -- A trigger never fails the app's write: without the outbox the event is not captured, and says so.
  IF to_regclass('forge_jobs.outbox') IS NULL THEN
    RAISE WARNING 'forge-jobs capture: forge_jobs.outbox does not exist; % % not captured', ${e}, ${op};
    RETURN NULL;
  END IF;
  BEGIN
      ${insert('')}
  EXCEPTION
    WHEN unique_violation THEN
      BEGIN
      ${insert(`
      ON CONFLICT ${OUTBOX_EVENT_KEY} DO UPDATE SET record = EXCLUDED.record WHERE outbox.dispatched_at IS NULL`)}
      EXCEPTION WHEN OTHERS THEN
        ${notCaptured}
      END;
    WHEN OTHERS THEN
      ${notCaptured}
  END;
  RETURN NULL;
END`;
  const { event, referencing } = SQL_EVENT[operation];
  // SECURITY DEFINER: a writer that may not write forge_jobs.outbox itself (another service, an admin role)
  // still has its rows captured; the fixed search_path keeps that from being borrowed.
  const createFunction =
    `CREATE OR REPLACE FUNCTION ${fn}() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp ` +
    `AS $forge_jobs$${body}$forge_jobs$`;
  const createTrigger =
    `CREATE TRIGGER ${quoteIdent(triggerName)} AFTER ${event} ON ${quoteTable(table)} ` +
    `REFERENCING ${referencing} FOR EACH STATEMENT EXECUTE FUNCTION ${fn}()`;
  const hash = createHash('sha256').update(`${createFunction}\n${createTrigger}`).digest('hex').slice(0, 16);
  const comment = COMMENT_PREFIX + JSON.stringify({ entity, operation, table, trigger: triggerName, hash });
  return {
    entity,
    operation,
    table,
    functionName,
    triggerName,
    hash,
    install: [
      createFunction,
      `DROP TRIGGER IF EXISTS ${quoteIdent(triggerName)} ON ${quoteTable(table)}`,
      createTrigger,
      `COMMENT ON FUNCTION ${fn}() IS ${literal(comment)}`,
    ],
    drop: dropStatements({ functionName, triggerName, table }),
  };
}

/** What capture created, as the catalog tells: every function of forge_jobs whose comment is ours. */
export interface InstalledCapture extends CaptureTarget {
  functionName: string;
  triggerName: string;
  hash: string;
  /** the trigger exists on the table and calls the function */
  triggerPresent: boolean;
}

export const INSTALLED_CAPTURE_SQL = `
  SELECT p.proname AS function_name, d.description AS comment,
         EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgfoid = p.oid AND NOT t.tgisinternal
                   AND t.tgname = (substr(d.description, ${COMMENT_PREFIX.length + 1})::jsonb->>'trigger')) AS trigger_present
    FROM pg_proc p
    JOIN pg_namespace n ON n.oid = p.pronamespace AND n.nspname = 'forge_jobs'
    JOIN pg_description d ON d.objoid = p.oid AND d.classoid = 'pg_proc'::regclass
   WHERE d.description LIKE '${COMMENT_PREFIX}%'
   ORDER BY p.proname`;

export function parseInstalled(row: { function_name: string; comment: string; trigger_present: boolean }): InstalledCapture {
  const meta = JSON.parse(row.comment.slice(COMMENT_PREFIX.length)) as {
    entity: string;
    operation: CaptureOperation;
    table: string;
    trigger: string;
    hash: string;
  };
  return {
    entity: meta.entity,
    operation: meta.operation,
    table: meta.table,
    functionName: row.function_name,
    triggerName: meta.trigger,
    hash: meta.hash,
    triggerPresent: row.trigger_present,
  };
}

/** Drops a trigger (when its table still exists) and its function. */
export function dropStatements(c: { functionName: string; triggerName: string; table: string }): string[] {
  const table = quoteTable(c.table);
  return [
    // the table may be gone, taking its trigger with it
    `DO $forge_jobs$ BEGIN IF to_regclass(${literal(table)}) IS NOT NULL THEN DROP TRIGGER IF EXISTS ${quoteIdent(c.triggerName)} ON ${table}; END IF; END $forge_jobs$`,
    `DROP FUNCTION IF EXISTS forge_jobs.${quoteIdent(c.functionName)}()`,
  ];
}

/** Serializes install/remove of two processes: "forgecap" in ASCII. */
export const CAPTURE_LOCK_SQL: Statement = { text: 'SELECT pg_advisory_xact_lock($1)', values: [0x666f72676563617en.toString()] };
