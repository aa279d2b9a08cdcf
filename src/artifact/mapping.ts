import type { Literal } from './types';

/**
 * A field_mappings value as the compiler writes it: `"\"ticket_created\""` is the string literal,
 * `data.subject` the trigger record's field, numbers and true/false/null literals.
 */
export type MappingExpr = { kind: 'literal'; value: Literal } | { kind: 'field'; field: string };

export class MappingSyntaxError extends Error {
  constructor(readonly expression: string) {
    super(`invalid expression ${JSON.stringify(expression)}: expected a double-quoted string, data.<field>, a number, true, false or null`);
    this.name = 'MappingSyntaxError';
  }
}

const NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
const FIELD = /^data\.([A-Za-z_][A-Za-z0-9_]*)$/;

export function parseFieldMapping(expression: string): MappingExpr {
  const text = expression.trim();
  const field = FIELD.exec(text);
  if (field) return { kind: 'field', field: field[1] };
  if (text === 'true') return { kind: 'literal', value: true };
  if (text === 'false') return { kind: 'literal', value: false };
  if (text === 'null') return { kind: 'literal', value: null };
  if (NUMBER.test(text)) return { kind: 'literal', value: Number(text) };
  if (text.startsWith('"')) {
    // the compiler quotes strings the way JSON does, so JSON is the exact decoder
    try {
      const value: unknown = JSON.parse(text);
      if (typeof value === 'string') return { kind: 'literal', value };
    } catch {
      // falls through to the syntax error below
    }
  }
  throw new MappingSyntaxError(expression);
}

/** The value a mapping gives for one trigger record. */
export function evaluateFieldMapping(expr: MappingExpr, record: Record<string, unknown>): unknown {
  return expr.kind === 'literal' ? expr.value : (record[expr.field] ?? null);
}
