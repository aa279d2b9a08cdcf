/** Small output helpers: aligned tables, cell text, JSON, progress on stderr. */

/** Columns padded to their widest cell; the header underlined. */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

/** One value as a short cell: strings bare, the rest as JSON, cut at `max` characters. */
export function cell(value: unknown, max = 48): string {
  const text =
    value === null || value === undefined
      ? ''
      : typeof value === 'string'
        ? value
        : value instanceof Date
          ? value.toISOString()
          : toJson(value);
  return shorten(text, max);
}

/** Whitespace flattened, cut at `max` characters with an ellipsis. */
export function shorten(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** JSON that survives BigInt and Buffer values. */
export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(
    value,
    (_key, v: unknown) => (typeof v === 'bigint' ? v.toString() : v instanceof Uint8Array ? Buffer.from(v).toString('base64') : v),
    indent,
  );
}

export function printJson(value: unknown): void {
  process.stdout.write(toJson(value, 2) + '\n');
}

export function print(text = ''): void {
  process.stdout.write(text + '\n');
}

/** A progress line on stderr, so stdout stays the result (and valid JSON with --json). */
export function progress(text: string): void {
  process.stderr.write(`${text}\n`);
}
