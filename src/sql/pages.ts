/**
 * SQL of a paged fan-out: a job's targets are counted, split into ranges of their id and walked a range at a
 * time (keyset: `id > after AND id <= through`, never OFFSET), so no statement returns more than one page of
 * rows and no id list of the whole audience exists anywhere. The targets are either a job's needs (the
 * condition of its last hop, from ./needs.ts, on the target table aliased `t`) or the dead targets an
 * earlier run of the job stored in forge_jobs.dead_targets (a redrive).
 */
import { quoteIdent, quoteTable } from './identifiers';
import type { Statement } from './statement';

export const DEAD_TARGETS_TABLE = 'forge_jobs.dead_targets';

/** The targets of a job: rows of `from` (alias t) where `where` holds; `where`'s parameters are `values`. */
export interface TargetScope {
  /** the FROM item, SQL built in src/sql: a quoted table, or a subquery with an `id` column */
  from: string;
  where: string;
  values: unknown[];
}

/** A range of target ids: after `after` (the start when absent) up to and including `through`. */
export interface IdRange {
  after?: unknown;
  through: unknown;
}

const ID = `t.${quoteIdent('id')}`;

/** At most `limit` targets counted: a count past the limit costs no more than the limit. */
export function countTargetsQuery(scope: TargetScope, limit: number): Statement {
  const limitParam = `$${scope.values.length + 1}`;
  return {
    text: `SELECT count(*)::int AS n FROM (SELECT 1 FROM ${scope.from} AS t WHERE ${scope.where} LIMIT ${limitParam}) AS counted`,
    values: [...scope.values, limit],
  };
}

/**
 * The upper bounds of consecutive ranges of `every` targets (the last range may be shorter), in id order:
 * one statement, ids only, numbered by row_number over the ids the scope selects (within `range` if given).
 */
export function boundsQuery(scope: TargetScope, every: number, range?: IdRange): Statement {
  const values = [...scope.values];
  const where = scope.where + rangeCondition(ID, range, values);
  values.push(every);
  const n = `$${values.length}`;
  return {
    text:
      `SELECT id FROM (SELECT ${ID} AS id, row_number() OVER (ORDER BY ${ID}) AS rn, count(*) OVER () AS total` +
      ` FROM ${scope.from} AS t WHERE ${where}) AS numbered WHERE rn % ${n} = 0 OR rn = total ORDER BY id`,
    values,
  };
}

/** The targets of one range, whole rows (what their effects need), at most `limit`. */
export function pageQuery(scope: TargetScope, range: IdRange | undefined, limit: number, columns: 'rows' | 'ids' = 'rows'): Statement {
  const values = [...scope.values];
  const where = scope.where + rangeCondition(ID, range, values);
  values.push(limit);
  const select = columns === 'ids' ? ID : 't.*';
  return { text: `SELECT ${select} FROM ${scope.from} AS t WHERE ${where} ORDER BY ${ID} LIMIT $${values.length}`, values };
}

/** Rows by id (a retry round's targets): the id list is one batch, never more. */
export function rowsByIdQuery(table: string, ids: unknown[]): Statement {
  return { text: `SELECT * FROM ${quoteTable(table)} WHERE id = ANY($1)`, values: [ids] };
}

function rangeCondition(column: string, range: IdRange | undefined, values: unknown[]): string {
  if (!range) return '';
  let sql = '';
  if (range.after !== undefined && range.after !== null) {
    values.push(range.after);
    sql += ` AND ${column} > $${values.length}`;
  }
  values.push(range.through);
  return `${sql} AND ${column} <= $${values.length}`;
}

export const CREATE_DEAD_TARGETS_SQL = `
  CREATE TABLE IF NOT EXISTS ${DEAD_TARGETS_TABLE} (
    workflow_id text NOT NULL,
    run_id text NOT NULL,
    target text NOT NULL,
    type text,
    reason text NOT NULL,
    attempts integer NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (workflow_id, run_id, target)
  );
  CREATE INDEX IF NOT EXISTS dead_targets_created_at_idx ON ${DEAD_TARGETS_TABLE} (created_at);`;

/** A dead target as stored; `target` is the id's text (ids of any type share the table). */
export interface DeadTargetRow {
  target: string;
  type?: string;
  reason: string;
  attempts: number;
}

/** The dead targets of one batch, one statement; stored again by a retried batch, kept once. */
export function insertDeadTargets(workflowId: string, runId: string, dead: DeadTargetRow[]): Statement {
  return {
    text:
      `INSERT INTO ${DEAD_TARGETS_TABLE} (workflow_id, run_id, target, type, reason, attempts)` +
      ` SELECT $1, $2, d.target, d.type, d.reason, d.attempts FROM unnest($3::text[], $4::text[], $5::text[], $6::int[]) AS d(target, type, reason, attempts)` +
      ` ON CONFLICT (workflow_id, run_id, target) DO NOTHING`,
    values: [
      workflowId,
      runId,
      dead.map((d) => d.target),
      dead.map((d) => d.type ?? null),
      dead.map((d) => d.reason),
      dead.map((d) => d.attempts),
    ],
  };
}

/**
 * The dead targets of an earlier run as a scope over the dead-target table (alias t, its `target` column
 * as `id`), for a redrive to count, split and walk like needs.
 */
export function deadTargetsScope(workflowId: string, runId: string): TargetScope {
  return {
    from: `(SELECT target AS id FROM ${DEAD_TARGETS_TABLE} WHERE workflow_id = $1 AND run_id = $2)`,
    where: 'TRUE',
    values: [workflowId, runId],
  };
}

/** Dead targets stored longer ago than `olderThanMs` (the run they belong to can no longer be redriven), at most `limit`. */
export function pruneDeadTargetsQuery(olderThanMs: number, limit: number): Statement {
  return {
    text:
      `DELETE FROM ${DEAD_TARGETS_TABLE} WHERE ctid IN (` +
      `SELECT ctid FROM ${DEAD_TARGETS_TABLE} WHERE created_at < now() - ($1::bigint * interval '1 millisecond') LIMIT $2)`,
    values: [Math.floor(olderThanMs), limit],
  };
}
