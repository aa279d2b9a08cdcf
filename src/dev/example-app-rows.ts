/** Row writes of the example app server: identifiers from the artifact, quoted; values as parameters. */
import { quoteIdent, quoteTable } from '../sql/identifiers';
import type { Statement as Query } from '../sql/statement';

export function insertRowQuery(table: string, fields: Record<string, unknown>): Query {
  const cols = Object.keys(fields);
  if (cols.length === 0) return { text: `INSERT INTO ${quoteTable(table)} DEFAULT VALUES RETURNING *`, values: [] };
  const params = cols.map((_, i) => `$${i + 1}`);
  return {
    text: `INSERT INTO ${quoteTable(table)} (${cols.map(quoteIdent).join(', ')}) VALUES (${params.join(', ')}) RETURNING *`,
    values: cols.map((c) => fields[c]),
  };
}

export function updateRowQuery(table: string, id: unknown, fields: Record<string, unknown>): Query {
  const cols = Object.keys(fields);
  const sets = cols.map((c, i) => `${quoteIdent(c)} = $${i + 2}`);
  sets.push(`"updated_at" = now()`);
  return {
    text: `UPDATE ${quoteTable(table)} SET ${sets.join(', ')} WHERE id = $1 RETURNING *`,
    values: [id, ...cols.map((c) => fields[c])],
  };
}

export function deleteRowQuery(table: string, id: unknown): Query {
  return { text: `DELETE FROM ${quoteTable(table)} WHERE id = $1 RETURNING *`, values: [id] };
}
