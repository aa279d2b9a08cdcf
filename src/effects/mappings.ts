/**
 * The creates: clause's field_mappings as the compiler writes them: `"\"ticket_created\""` is a string
 * literal, `data.subject` a field of the trigger record, numbers, true, false and null literals.
 */
import { PermanentError } from '../errors';

export function evaluateMapping(expr: string, data: Record<string, unknown>): unknown {
  const text = expr.trim();
  if (text.startsWith('"') || text.startsWith("'")) {
    try {
      return text.startsWith('"') ? JSON.parse(text) : JSON.parse('"' + text.slice(1, -1).replace(/"/g, '\\"') + '"');
    } catch {
      throw new PermanentError(`field mapping ${expr}: not a valid string literal`);
    }
  }
  if (text === 'true') return true;
  if (text === 'false') return false;
  if (text === 'null') return null;
  if (/^-?\d+(\.\d+)?$/.test(text)) return Number(text);
  const m = /^data\.([A-Za-z_]\w*)$/.exec(text);
  if (m) return data[m[1]] ?? null;
  throw new PermanentError(`field mapping ${expr}: expected a literal or data.<field>`);
}

export function evaluateMappings(mappings: Record<string, string>, data: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(mappings).map(([field, expr]) => [field, evaluateMapping(expr, data)]));
}
