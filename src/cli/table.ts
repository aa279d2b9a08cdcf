/**
 * Readable tables for the CLI, built on format.ts: columns declared once with how to read each cell, and
 * aligned "field  value" blocks for one record. Shared by the commands that print rows.
 */
import { cell, table } from './format';

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
  /** widest cell before it is cut with … (default 48; the last column is never cut) */
  max?: number;
}

/** Rows under their headers; `empty` when there are none. */
export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[], empty = '(none)'): string {
  if (rows.length === 0) return empty;
  return table(
    columns.map((c) => c.header),
    rows.map((row) => columns.map((c, i) => cell(c.value(row), i === columns.length - 1 ? Number.MAX_SAFE_INTEGER : (c.max ?? 48)))),
  );
}

/** One record as aligned `name  value` lines; undefined values are left out. */
export function renderFields(fields: ReadonlyArray<readonly [string, unknown]>): string {
  const shown = fields.filter(([, v]) => v !== undefined);
  const width = Math.max(0, ...shown.map(([k]) => k.length));
  return shown.map(([k, v]) => `${k.padEnd(width)}  ${cell(v, Number.MAX_SAFE_INTEGER)}`).join('\n');
}

/** "3s ago", "5m ago", "2h ago", "4d ago" (a timestamp column people read). */
export function ago(time: Date | undefined, now = Date.now()): string {
  if (!time) return '';
  const s = Math.max(0, Math.round((now - time.getTime()) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return `${Math.floor(s / 86400)}d ago`;
}
