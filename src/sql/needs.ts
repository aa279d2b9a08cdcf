/**
 * All SQL text of needs resolution. Identifiers come from the artifact and are quoted; every value
 * (keys of the previous hop, filter literals) is a bind parameter, so no value ever reaches the text.
 */
import type { CompareOp, EntityDef, FilterExpr, Literal, RelationDef } from '../artifact/types';
import { storedOnSource } from '../artifact/storage';
import { quoteIdent, quoteTable } from './identifiers';

import type { Statement as SqlQuery } from './statement';

export type { SqlQuery };

export interface CompiledFilter {
  sql: string;
  values: unknown[];
}

export interface HopFilter {
  expr: FilterExpr;
  /** the entity the filter applies to (the hop's target); named in errors */
  entity: EntityDef;
}

/** Alias of the target table in every hop query, so filter columns cannot be captured by a subquery. */
const TARGET = 't';
const JOIN = 'j';

/**
 * One query for one hop, over all keys of the previous hop ($1). `keys` are the previous rows' foreign
 * key values for a relation stored on the source table, their ids otherwise. The filter, when given, is the job's
 * needs_filter: the caller passes it for the last hop only.
 */
export function hopQuery(relation: RelationDef, fromTable: string, keys: unknown[], filter?: HopFilter): SqlQuery {
  const { sql: where, values } = hopWhere(relation, fromTable, keys, filter);
  const id = `${TARGET}.${quoteIdent('id')}`;
  return { text: `SELECT ${TARGET}.* FROM ${quoteTable(relation.target_table)} AS ${TARGET} WHERE ${where} ORDER BY ${id}`, values };
}

/**
 * The condition of one hop on its target table (aliased `t`), parameters numbered from `startIndex`: what
 * hopQuery selects by, and what a paged fan-out (./pages.ts) counts, splits and walks by.
 */
export function hopWhere(relation: RelationDef, fromTable: string, keys: unknown[], filter?: HopFilter, startIndex = 1): CompiledFilter {
  const id = `${TARGET}.${quoteIdent('id')}`;
  const k = `$${startIndex}`;
  let match: string;
  if (relation.missing !== undefined) {
    throw new Error(`relation ${relation.name} from table ${fromTable} to ${relation.target} has no storage: ${relation.missing}`);
  } else if (storedOnSource(relation)) {
    match = `${id} = ANY(${k})`;
  } else if (relation.through) {
    const { table: joinTable, source_key, target_key } = relation.through;
    // IN rather than a join: a target linked twice to the same source (or to two sources) comes back once.
    match =
      `${id} IN (SELECT ${JOIN}.${quoteIdent(target_key)} FROM ${quoteTable(joinTable)} AS ${JOIN}` +
      ` WHERE ${JOIN}.${quoteIdent(source_key)} = ANY(${k}))`;
  } else if (relation.inverse_key) {
    match = `${TARGET}.${quoteIdent(relation.inverse_key)} = ANY(${k})`;
  } else {
    throw new Error(
      `relation ${relation.name} from table ${fromTable} to ${relation.target} is many but has neither foreign_key, inverse_key nor through`,
    );
  }

  const values: unknown[] = [keys];
  let where = match;
  if (filter) {
    const compiled = compileFilter(filter.expr, startIndex + values.length, TARGET, filter.entity.name);
    where += ` AND (${compiled.sql})`;
    values.push(...compiled.values);
  }
  return { sql: where, values };
}

/**
 * Compiles a needs filter to a SQL boolean whose parameters are numbered from `startIndex`.
 *
 * Semantics are SQL's own three-valued logic, which evaluateFilter (src/artifact/filter.ts) mirrors
 * for the empty path, so the trigger record and a queried hop are filtered alike: only `== null` and
 * `!= null` see a NULL column (as IS NULL / IS NOT NULL); any other comparison with NULL is unknown,
 * NOT of unknown stays unknown, and only true keeps a row.
 *
 * `qualifier` is an alias of the caller's own query (not user input); `entity` only names errors.
 */
export function compileFilter(expr: FilterExpr, startIndex: number, qualifier?: string, entity?: string): CompiledFilter {
  if (!Number.isInteger(startIndex) || startIndex < 1) throw new Error(`invalid parameter start index ${startIndex}`);
  if (qualifier !== undefined && !/^[a-z_][a-z0-9_]*$/.test(qualifier)) throw new Error(`invalid SQL alias ${JSON.stringify(qualifier)}`);
  const values: unknown[] = [];
  const bind = (value: unknown): string => {
    values.push(value);
    return `$${startIndex + values.length - 1}`;
  };
  const column = (field: string): string => (qualifier ? `${qualifier}.${quoteIdent(field)}` : quoteIdent(field));
  const where = entity ? ` in the needs filter of ${entity}` : ' in a needs filter';

  const compare = (field: string, op: CompareOp, value: Literal): string => {
    const col = column(field);
    if (value === null && op === '==') return `${col} IS NULL`;
    if (value === null && op === '!=') return `${col} IS NOT NULL`;
    switch (op) {
      case '==':
        return `${col} = ${bind(value)}`;
      case '!=':
        return `${col} <> ${bind(value)}`;
      case '<':
      case '<=':
      case '>':
      case '>=':
        return `${col} ${op} ${bind(value)}`;
      default:
        throw new Error(`unknown comparison ${JSON.stringify(op)}${where}`);
    }
  };

  const member = (field: string, list: Literal[]): string => {
    const col = column(field);
    const present = list.filter((v) => v !== null);
    const withNull = present.length < list.length;
    if (present.length === 0) return withNull ? `${col} IS NULL` : 'FALSE';
    const any = `${col} = ANY(${bind(present)})`;
    return withNull ? `(${any} OR ${col} IS NULL)` : any;
  };

  const walk = (e: FilterExpr): string => {
    switch (e.kind) {
      case 'and':
        return `(${walk(e.left)} AND ${walk(e.right)})`;
      case 'or':
        return `(${walk(e.left)} OR ${walk(e.right)})`;
      case 'not':
        return `NOT (${walk(e.expr)})`;
      case 'cmp':
        return compare(e.field, e.op, e.value);
      case 'in':
        return member(e.field, e.values);
      default:
        throw new Error(`unknown filter node ${JSON.stringify((e as { kind?: unknown }).kind)}${where}`);
    }
  };

  return { sql: walk(expr), values };
}
