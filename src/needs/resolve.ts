/**
 * Needs resolution: from the trigger record, follow each needs path of a job, one query per hop over
 * all keys of the previous hop, and return the union of the targets, de-duplicated by id.
 */
import { evaluateFilter } from '../artifact/filter';
import { describeStorage, storedOnSource } from '../artifact/storage';
import type { Artifact, JobDef, NeedsHop, NeedsPath, RelationDef } from '../artifact/types';
import { PermanentError } from '../errors';
import { quoteTable } from '../sql/identifiers';
import { hopQuery, hopWhere } from '../sql/needs';
import type { TargetScope } from '../sql/pages';

export type Row = Record<string, unknown>;

/** Runs one statement and returns its rows. */
export type QueryFn = (text: string, values: unknown[]) => Promise<Row[]>;

/** A pg Pool, PoolClient or Client: anything whose query() resolves to `{ rows }`. */
export interface Queryable {
  query(text: string, values: unknown[]): Promise<{ rows: Row[] }>;
}

export const DEFAULT_MAX_TARGETS = 100_000;

export interface ResolveNeedsInput {
  query: QueryFn | Queryable;
  artifact: Artifact;
  job: JobDef;
  /** the committed record that triggered the job (the old row for a delete) */
  record: Row;
  maxTargets?: number;
}

export interface ResolvedNeeds {
  targetEntity: string;
  targets: Row[];
  /** SQL statements run */
  queries: number;
}

/** What one hop did, for a CLI to show. `sql` is null when no statement ran. */
export interface HopExplanation {
  /** the needs path as written, e.g. "Ticket.org.members" */
  path: string;
  /** the hop, e.g. "Ticket.org"; the entity name alone for an empty path (the trigger record) */
  hop: string;
  sql: string | null;
  values: unknown[];
  rows: Row[];
  /** how the hop's relation is stored and where that was found; absent for the trigger record itself */
  storage?: string;
  /** why no statement ran */
  note?: string;
}

export interface NeedsExplanation extends ResolvedNeeds {
  hops: HopExplanation[];
}

export async function resolveNeeds(input: ResolveNeedsInput): Promise<ResolvedNeeds> {
  const { targetEntity, targets, queries } = await run(input, undefined);
  return { targetEntity, targets, queries };
}

/** Resolves like resolveNeeds and also reports, per hop, the SQL, its parameters and the rows it gave. */
export async function explainNeeds(input: ResolveNeedsInput): Promise<NeedsExplanation> {
  const hops: HopExplanation[] = [];
  const resolved = await run(input, hops);
  return { ...resolved, hops };
}

export const planNeeds = explainNeeds;

async function run(input: ResolveNeedsInput, trace: HopExplanation[] | undefined): Promise<ResolvedNeeds> {
  const { artifact, job, record } = input;
  const query = toQueryFn(input.query);
  const maxTargets = input.maxTargets ?? DEFAULT_MAX_TARGETS;
  // A job without a needs path acts on the trigger record, like an empty path.
  const paths: NeedsPath[] = job.needs.length > 0 ? job.needs : [{ text: job.input_entity, hops: [], targetEntity: job.input_entity }];
  const targetEntity = paths[0].targetEntity;
  for (const path of paths) {
    if (path.targetEntity !== targetEntity) {
      // De-duplication by id is only meaningful within one entity.
      throw new PermanentError(
        `needs of job ${job.name} reach both ${targetEntity} and ${path.targetEntity}; all paths must reach one entity`,
      );
    }
  }

  const union = new TargetSet();
  let queries = 0;
  for (const path of paths) {
    let rows: Row[];
    if (path.hops.length === 0) {
      // In memory, with the same three-valued semantics as the SQL a hop would run.
      rows = job.filter && !evaluateFilter(job.filter, record) ? [] : [record];
      trace?.push({ path: path.text, hop: job.input_entity, sql: null, values: [], rows, note: 'the trigger record itself' });
    } else {
      const walked = await walk(path, { query, artifact, job, record }, trace);
      rows = walked.rows;
      queries += walked.queries;
    }
    union.addAll(rows);
    if (union.size > maxTargets) {
      throw new PermanentError(
        `needs of job ${job.name} reached ${union.size} targets, more than the limit ${maxTargets} ([jobs] max_targets)`,
        'needs_limit',
      );
    }
  }
  return { targetEntity, targets: union.rows(), queries };
}

interface WalkContext {
  query: QueryFn;
  artifact: Artifact;
  job: JobDef;
  record: Row;
}

/** Follows `hops` hops of a path (all of them by default) from the trigger record. */
async function walk(
  path: NeedsPath,
  ctx: WalkContext,
  trace: HopExplanation[] | undefined,
  hops = path.hops.length,
): Promise<{ rows: Row[]; queries: number }> {
  let rows: Row[] = [ctx.record];
  let queries = 0;
  for (let i = 0; i < hops; i++) {
    const hop = path.hops[i];
    const label = `${hop.from}.${hop.relation.name}`;
    const storage = describeStorage(tableOf(ctx, hop), hop.relation);
    const keys = hopKeys(hop.relation, rows);
    if (keys.length === 0) {
      // A missing foreign key (or an empty previous hop) means no targets, and costs no query.
      trace?.push({ path: path.text, hop: label, sql: null, values: [], rows: [], storage, note: noKeysNote(hop.relation, i) });
      return { rows: [], queries };
    }
    const last = i === path.hops.length - 1;
    const filter = last && ctx.job.filter ? { expr: ctx.job.filter, entity: entityOf(ctx, hop.relation.target) } : undefined;
    const { text, values } = hopQuery(hop.relation, tableOf(ctx, hop), keys, filter);
    queries++;
    rows = await runHop(ctx, label, text, values);
    trace?.push({ path: path.text, hop: label, sql: text, values, rows, storage });
  }
  return { rows, queries };
}

async function runHop(ctx: WalkContext, label: string, text: string, values: unknown[]): Promise<Row[]> {
  try {
    return await ctx.query(text, values);
  } catch (err) {
    // A wrong table, column or value type will fail the same way on every attempt: do not retry it.
    if (isPermanentSqlError(err)) {
      throw new PermanentError(`needs of job ${ctx.job.name}, hop ${label}: ${(err as Error).message}`, 'needs_sql');
    }
    throw err;
  }
}

/** SQLSTATE classes 22 (data exception), 42 (syntax, undefined object, privilege), 0A (not supported). */
export function isPermanentSqlError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^(22|42|0A)/.test(code);
}

/**
 * The keys a hop looks up, distinct and non-null: for a single relation the previous rows' foreign key
 * values, for a many relation the previous rows' ids.
 */
export function hopKeys(relation: RelationDef, rows: Row[]): unknown[] {
  const column = storedOnSource(relation) ? foreignKeyOf(relation) : 'id';
  const seen = new Map<string, unknown>();
  for (const row of rows) {
    const value = row[column];
    if (value === null || value === undefined) continue;
    // pg cannot bind a BigInt; its text form binds to any integer column.
    const key = typeof value === 'bigint' ? value.toString() : value;
    const identity = key instanceof Date ? key.toISOString() : String(key);
    if (!seen.has(identity)) seen.set(identity, key);
  }
  return [...seen.values()];
}

function foreignKeyOf(relation: RelationDef): string {
  return relation.foreign_key ?? `${relation.name}_id`;
}

function noKeysNote(relation: RelationDef, index: number): string {
  if (index > 0) return 'the previous hop found no rows';
  return storedOnSource(relation) ? `the trigger record's ${foreignKeyOf(relation)} is null` : 'the trigger record has no id';
}

/**
 * A job's targets as one condition on the target table, for a fan-out that counts, splits and walks them in
 * pages (src/sql/pages.ts) instead of loading them: the hops before the last run as resolveNeeds runs them
 * (one query each), the last becomes hopWhere over their keys, and the paths' conditions are OR-ed (the
 * union, de-duplicated by id since each row is one id). Undefined when a path has no hop: its target is the
 * trigger record itself, which may be gone from the table (a delete), so such a job is resolved in memory.
 */
export async function targetScope(input: Omit<ResolveNeedsInput, 'maxTargets'>): Promise<{ targetEntity: string; scope?: TargetScope }> {
  const { artifact, job, record } = input;
  const query = toQueryFn(input.query);
  const paths: NeedsPath[] = job.needs.length > 0 ? job.needs : [{ text: job.input_entity, hops: [], targetEntity: job.input_entity }];
  const targetEntity = paths[0].targetEntity;
  if (paths.some((p) => p.targetEntity !== targetEntity || p.hops.length === 0)) return { targetEntity };
  const ctx: WalkContext = { query, artifact, job, record };
  const entity = entityOf(ctx, targetEntity);
  const conditions: string[] = [];
  const values: unknown[] = [];
  for (const path of paths) {
    const last = path.hops[path.hops.length - 1];
    const { rows } = await walk(path, ctx, undefined, path.hops.length - 1);
    const keys = hopKeys(last.relation, rows);
    if (keys.length === 0) continue;
    const filter = job.filter ? { expr: job.filter, entity } : undefined;
    const compiled = hopWhere(last.relation, tableOf(ctx, last), keys, filter, values.length + 1);
    conditions.push(`(${compiled.sql})`);
    values.push(...compiled.values);
  }
  const where = conditions.length > 0 ? conditions.join(' OR ') : 'FALSE';
  return { targetEntity, scope: { from: quoteTable(entity.table), where: conditions.length > 1 ? `(${where})` : where, values } };
}

function entityOf(ctx: WalkContext, name: string) {
  const entity = ctx.artifact.entities[name];
  if (!entity) throw new PermanentError(`needs of job ${ctx.job.name}: unknown entity ${name}`);
  return entity;
}

function tableOf(ctx: WalkContext, hop: NeedsHop): string {
  return ctx.artifact.entities[hop.from]?.table ?? hop.from;
}

function toQueryFn(query: QueryFn | Queryable): QueryFn {
  if (typeof query === 'function') return query;
  return async (text, values) => (await query.query(text, values)).rows;
}

/** Targets in first-seen order, one per id; a row without an id cannot collide and is kept. */
class TargetSet {
  private readonly byId = new Map<string, Row>();
  private readonly order: Row[] = [];

  get size(): number {
    return this.order.length;
  }

  addAll(rows: Row[]): void {
    for (const row of rows) {
      const id = row.id;
      if (id === null || id === undefined) {
        this.order.push(row);
        continue;
      }
      const key = id instanceof Date ? id.toISOString() : String(id);
      if (this.byId.has(key)) continue;
      this.byId.set(key, row);
      this.order.push(row);
    }
  }

  rows(): Row[] {
    return [...this.order];
  }
}
