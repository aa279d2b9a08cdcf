/**
 * Identifiers in SQL come only from the artifact or the config, and are always quoted here.
 * Values never pass through this module: they are bind parameters.
 */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\0')) throw new Error(`invalid SQL identifier ${JSON.stringify(name)}`);
  return '"' + name.replace(/"/g, '""') + '"';
}

/** `schema.table` or `table`, each part quoted. */
export function quoteTable(name: string): string {
  return name.split('.').map(quoteIdent).join('.');
}
