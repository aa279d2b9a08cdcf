/**
 * All SQL of backfills (state in forge_jobs.backfills, migration 6): keyset pages over an entity's table,
 * each page written to the outbox and the backfill's cursor advanced in one statement, so a page is either
 * wholly written and counted or not at all. Identifiers come from the artifact, quoted; values are bind
 * parameters, the filter's literals included.
 */
import type { EntityDef, FilterExpr } from '../artifact/types';
import { REREAD_KEY } from './capture';
import { quoteIdent, quoteTable } from './identifiers';
import { compileFilter } from './needs';
import { OUTBOX_CHANNEL, OUTBOX_EVENT_KEY } from './outbox';
import type { Statement } from './statement';

const T = 't';

/** The rows a backfill covers: `WHERE` text and its values, numbered from $1. */
function where(entity: EntityDef, filter: FilterExpr | undefined, cursor: string | null): { sql: string; values: unknown[] } {
  const parts: string[] = [];
  const values: unknown[] = [];
  if (filter) {
    const compiled = compileFilter(filter, 1, T, entity.name);
    parts.push(`(${compiled.sql})`);
    values.push(...compiled.values);
  }
  // The cursor is the last id as text; Postgres reads it as the id column's own type.
  if (cursor !== null) {
    values.push(cursor);
    parts.push(`${T}.${quoteIdent('id')} > $${values.length}`);
  }
  return { sql: parts.length > 0 ? parts.join(' AND ') : 'TRUE', values };
}

export function countRowsQuery(entity: EntityDef, filter: FilterExpr | undefined, cursor: string | null): Statement {
  const w = where(entity, filter, cursor);
  return { text: `SELECT count(*)::bigint AS n FROM ${quoteTable(entity.table)} AS ${T} WHERE ${w.sql}`, values: w.values };
}

export function firstIdsQuery(entity: EntityDef, filter: FilterExpr | undefined, limit: number): Statement {
  const w = where(entity, filter, null);
  const id = `${T}.${quoteIdent('id')}`;
  return {
    text: `SELECT ${id}::text AS id FROM ${quoteTable(entity.table)} AS ${T} WHERE ${w.sql} ORDER BY ${id} LIMIT ${Math.max(0, Math.floor(limit))}`,
    values: w.values,
  };
}

export interface PageParams {
  backfillId: string;
  job: string;
  entity: EntityDef;
  operation: string;
  filter?: FilterExpr;
  cursor: string | null;
  pageSize: number;
  maxRecordBytes: number;
}

/**
 * One page: the next `pageSize` rows after the cursor become outbox rows naming the job, with event ids
 * derived from the database, the backfill and the row (a re-run writes the same ids, which the outbox keeps
 * once; the same backfill of another database sharing the Temporal namespace does not collide), and
 * the backfill's cursor and count move in the same statement. Answers the new cursor, done, the rows of
 * the page and how many of them were new to the outbox.
 */
export function backfillPageQuery(p: PageParams): Statement {
  const w = where(p.entity, p.filter, p.cursor);
  const values = [...w.values];
  const bind = (v: unknown) => {
    values.push(v);
    return `$${values.length}`;
  };
  const id = `${T}.${quoteIdent('id')}`;
  const bid = bind(p.backfillId);
  const entity = bind(p.entity.name);
  const operation = bind(p.operation);
  const job = bind(p.job);
  const max = bind(p.maxRecordBytes);
  const limit = bind(p.pageSize);
  const reread = bind(REREAD_KEY);
  const text = `
    WITH page AS (
      SELECT ${id} AS id, to_jsonb(${T}) AS doc FROM ${quoteTable(p.entity.table)} AS ${T} WHERE ${w.sql} ORDER BY ${id} LIMIT ${limit}::int
    ), ins AS (
      INSERT INTO forge_jobs.outbox (event_id, entity, operation, record, jobs)
      SELECT substr(encode(sha256(convert_to('backfill|' || current_database() || '|' || ${bid}::text || '|' || coalesce(page.doc->>'id', ''), 'UTF8')), 'hex'), 1, 20),
             ${entity}::text, ${operation}::text,
             CASE WHEN octet_length(page.doc::text) > ${max}::int THEN jsonb_build_object('id', page.doc->'id', ${reread}::text, true) ELSE page.doc END,
             ARRAY[${job}::text]
        FROM page
      ON CONFLICT ${OUTBOX_EVENT_KEY} DO NOTHING
      RETURNING 1
    ), last AS (
      SELECT page.id::text AS last_id FROM page ORDER BY page.id DESC LIMIT 1
    )
    UPDATE forge_jobs.backfills
       SET cursor_id = coalesce((SELECT last_id FROM last), cursor_id), done = done + (SELECT count(*) FROM page), updated_at = now()
     WHERE id = ${bid}::text
    RETURNING cursor_id, done::bigint AS done, (SELECT count(*) FROM page)::int AS page_rows, (SELECT count(*) FROM ins)::int AS written,
              pg_notify('${OUTBOX_CHANNEL}', '') IS NULL AS notified`;
  return { text, values };
}

/** Creates the backfill's row, or takes up the existing one (resume); answers its state. */
export const START_BACKFILL_SQL = `
  INSERT INTO forge_jobs.backfills (id, job, entity, operation, filter, state)
  VALUES ($1, $2, $3, $4, $5, 'running')
  ON CONFLICT (id) DO UPDATE SET state = CASE WHEN backfills.state = 'finished' THEN 'finished' ELSE 'running' END, updated_at = now()
  RETURNING id, state, cursor_id, done::bigint AS done, (xmax <> 0) AS resumed`;

/** $1 id, $2 total. */
export const SET_TOTAL_SQL = `UPDATE forge_jobs.backfills SET total = $2 WHERE id = $1`;

/** $1 id, $2 state ('stopped' or 'finished'). */
export const END_BACKFILL_SQL = `
  UPDATE forge_jobs.backfills SET state = $2, updated_at = now(), finished_at = CASE WHEN $2 = 'finished' THEN now() END WHERE id = $1`;

export const LIST_BACKFILLS_SQL = `
  SELECT id, job, entity, operation, filter, state, cursor_id, done::bigint AS done, total::bigint AS total, started_at, updated_at, finished_at
    FROM forge_jobs.backfills ORDER BY started_at DESC`;

/** One process runs a backfill at a time: a session lock on its id, released with the connection. */
export const TRY_LOCK_SQL = `SELECT pg_try_advisory_lock(hashtextextended('forge_jobs.backfill:' || $1, 0)) AS locked`;
export const UNLOCK_SQL = `SELECT pg_advisory_unlock(hashtextextended('forge_jobs.backfill:' || $1, 0))`;
