import { quoteTable } from './identifiers';
import type { Statement } from './statement';

/** One target row by id, for the effect activity. */
export function targetByIdQuery(table: string, id: unknown): Statement {
  return { text: `SELECT * FROM ${quoteTable(table)} WHERE id = $1`, values: [id] };
}
