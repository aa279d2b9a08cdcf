import { quoteTable } from './identifiers';

/** One target row by id, for the effect activity. */
export function targetByIdQuery(table: string, id: unknown): { text: string; values: unknown[] } {
  return { text: `SELECT * FROM ${quoteTable(table)} WHERE id = $1`, values: [id] };
}
