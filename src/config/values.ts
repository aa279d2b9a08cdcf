/** Helpers over parsed TOML values (smol-toml tables have a null prototype, dates are TomlDate). */

export type Table = Record<string, unknown>;

export function isTable(value: unknown): value is Table {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

/** The TOML name of a value's type, for "expected X, got Y" messages. */
export function typeName(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (typeof value === 'number') return Number.isInteger(value) ? 'an integer' : 'a float';
  if (typeof value === 'bigint') return 'an integer';
  if (typeof value === 'boolean') return 'a boolean';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'object') return 'a table';
  return typeof value;
}

/** Key path as TOML would write it, so `relations."Ticket.org"` points at the right table. */
export function childPath(parent: string, key: string): string {
  const part = /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
  return parent ? `${parent}.${part}` : part;
}

export function indexPath(parent: string, index: number): string {
  return `${parent}[${index}]`;
}
