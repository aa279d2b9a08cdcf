/**
 * The live catalog as a schema: every table and view on the search path, its columns, whether each is
 * NOT NULL without a default, and the table a single-column foreign key points at.
 */
import type { DatabaseSchema, SchemaTable } from '../artifact/migration';
import type { Statement } from './statement';

export interface CatalogQuery {
  query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }>;
}

export function catalogColumns(): Statement {
  return {
    text: `SELECT n.nspname AS schema_name, c.relname AS table_name, a.attname AS column_name, a.attnotnull AS not_null,
        (a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '') AS has_default,
        (SELECT r.relname FROM pg_constraint k JOIN pg_class r ON r.oid = k.confrelid
          WHERE k.conrelid = c.oid AND k.contype = 'f' AND k.conkey = ARRAY[a.attnum] ORDER BY k.conname LIMIT 1) AS references_table
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      JOIN pg_attribute a ON a.attrelid = c.oid
      WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND a.attnum > 0 AND NOT a.attisdropped
        AND n.nspname = ANY(current_schemas(false))
      ORDER BY array_position(current_schemas(false), n.nspname::text), c.relname, a.attnum`,
    values: [],
  };
}

interface CatalogRow {
  schema_name: string;
  table_name: string;
  column_name: string;
  not_null: boolean;
  has_default: boolean;
  references_table: string | null;
}

export async function readCatalog(database: CatalogQuery): Promise<DatabaseSchema> {
  const { text, values } = catalogColumns();
  const { rows } = await database.query(text, values);
  const tables: Record<string, SchemaTable> = {};
  const schemaOf = new Map<string, string>();
  const define = <T>(record: Record<string, T>, key: string, value: T) =>
    Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
  for (const row of rows as CatalogRow[]) {
    // the first schema on the search path wins, as it would for an unqualified name
    let table = Object.prototype.hasOwnProperty.call(tables, row.table_name) ? tables[row.table_name] : undefined;
    if (table === undefined) {
      define(tables, row.table_name, (table = { name: row.table_name, columns: {} }));
      schemaOf.set(row.table_name, row.schema_name);
    }
    if (schemaOf.get(row.table_name) !== row.schema_name) continue;
    if (Object.prototype.hasOwnProperty.call(table.columns, row.column_name)) continue;
    define(table.columns, row.column_name, {
      name: row.column_name,
      notNull: row.not_null,
      hasDefault: row.has_default,
      ...(row.references_table !== null && { references: row.references_table }),
    });
  }
  return { origin: 'catalog', tables };
}
