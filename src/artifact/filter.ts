import type { CompareOp, FilterExpr, Literal } from './types';

/**
 * needs_filter: the compiler's CEL-style text (`(((role == agent) && !(name == "x")))`) and the
 * source spelling (`role == agent and not name == "x"`). Values only ever become literals in the
 * tree, so that the SQL side can bind them as parameters whatever they contain.
 */

export class FilterSyntaxError extends Error {
  /** 1-based column of the offending character in the filter text */
  readonly column: number;

  constructor(reason: string, column: number) {
    super(`${reason} at column ${column}`);
    this.name = 'FilterSyntaxError';
    this.column = column;
  }
}

type TokenKind = 'word' | 'string' | 'number' | 'op' | '(' | ')' | '[' | ']' | ',' | '&&' | '||' | '!' | 'end';

interface Token {
  kind: TokenKind;
  text: string;
  /** decoded value of a string or number token */
  value?: string | number;
  column: number;
}

const COMPARE_OPS: readonly string[] = ['==', '!=', '<=', '>=', '<', '>'];
const WORD_OPERATORS: Record<string, TokenKind> = { and: '&&', or: '||', not: '!' };
const ESCAPES: Record<string, string> = {
  n: '\n',
  t: '\t',
  r: '\r',
  b: '\b',
  f: '\f',
  '0': '\0',
  '\\': '\\',
  '"': '"',
  "'": "'",
  '/': '/',
};

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    const column = i + 1;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (two === '&&' || two === '||') {
      tokens.push({ kind: two, text: two, column });
      i += 2;
      continue;
    }
    const op = COMPARE_OPS.find((o) => text.startsWith(o, i));
    if (op) {
      tokens.push({ kind: 'op', text: op, column });
      i += op.length;
      continue;
    }
    if (c === '!' || c === '(' || c === ')' || c === '[' || c === ']' || c === ',') {
      tokens.push({ kind: c, text: c, column });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      const { value, end } = readQuoted(text, i);
      tokens.push({ kind: 'string', text: text.slice(i, end), value, column });
      i = end;
      continue;
    }
    const number = /^-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/.exec(text.slice(i));
    if (number) {
      const after = text[i + number[0].length];
      if (after !== undefined && /[A-Za-z_]/.test(after)) throw new FilterSyntaxError(`invalid number "${number[0]}${after}"`, column);
      tokens.push({ kind: 'number', text: number[0], value: Number(number[0]), column });
      i += number[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(text.slice(i));
    if (word) {
      const kind = WORD_OPERATORS[word[0].toLowerCase()] ?? 'word';
      tokens.push({ kind, text: word[0], column });
      i += word[0].length;
      continue;
    }
    throw new FilterSyntaxError(`unexpected character ${JSON.stringify(c)}`, column);
  }
  tokens.push({ kind: 'end', text: '', column: text.length + 1 });
  return tokens;
}

function readQuoted(text: string, start: number): { value: string; end: number } {
  const quote = text[start];
  let value = '';
  let i = start + 1;
  while (i < text.length) {
    const c = text[i];
    if (c === quote) return { value, end: i + 1 };
    if (c !== '\\') {
      value += c;
      i++;
      continue;
    }
    const e = text[i + 1];
    if (e === 'u') {
      const hex = text.slice(i + 2, i + 6);
      if (!/^[0-9a-fA-F]{4}$/.test(hex)) throw new FilterSyntaxError('invalid \\u escape', i + 1);
      value += String.fromCharCode(parseInt(hex, 16));
      i += 6;
      continue;
    }
    if (e === undefined || !(e in ESCAPES)) throw new FilterSyntaxError(`invalid escape "\\${e ?? ''}"`, i + 1);
    value += ESCAPES[e];
    i += 2;
  }
  throw new FilterSyntaxError('unterminated string', start + 1);
}

function describe(token: Token): string {
  return token.kind === 'end' ? 'end of filter' : JSON.stringify(token.text);
}

/** Recursive descent; precedence not > and > or. */
class Parser {
  private pos = 0;

  constructor(private readonly tokens: Token[]) {}

  parse(): FilterExpr {
    const expr = this.or();
    const next = this.peek();
    if (next.kind !== 'end') throw new FilterSyntaxError(`unexpected ${describe(next)}`, next.column);
    return expr;
  }

  private peek(): Token {
    return this.tokens[this.pos];
  }

  private next(): Token {
    return this.tokens[this.pos++];
  }

  private expect(kind: TokenKind, what: string): Token {
    const token = this.next();
    if (token.kind !== kind) throw new FilterSyntaxError(`expected ${what}, found ${describe(token)}`, token.column);
    return token;
  }

  private or(): FilterExpr {
    let left = this.and();
    while (this.peek().kind === '||') {
      this.next();
      left = { kind: 'or', left, right: this.and() };
    }
    return left;
  }

  private and(): FilterExpr {
    let left = this.unary();
    while (this.peek().kind === '&&') {
      this.next();
      left = { kind: 'and', left, right: this.unary() };
    }
    return left;
  }

  private unary(): FilterExpr {
    if (this.peek().kind === '!') {
      this.next();
      return { kind: 'not', expr: this.unary() };
    }
    if (this.peek().kind === '(') {
      this.next();
      const expr = this.or();
      this.expect(')', '")"');
      return expr;
    }
    return this.comparison();
  }

  private comparison(): FilterExpr {
    const field = this.expect('word', 'a field name').text;
    const token = this.next();
    if (token.kind === 'op') return { kind: 'cmp', field, op: token.text as CompareOp, value: this.value() };
    if (token.kind === 'word' && token.text.toLowerCase() === 'in') return { kind: 'in', field, values: this.list() };
    // `field not in [...]`, the source spelling of !(field in [...])
    if (token.kind === '!' && this.peek().kind === 'word' && this.peek().text.toLowerCase() === 'in') {
      this.next();
      return { kind: 'not', expr: { kind: 'in', field, values: this.list() } };
    }
    throw new FilterSyntaxError(
      `expected a comparison operator or "in" after ${JSON.stringify(field)}, found ${describe(token)}`,
      token.column,
    );
  }

  private list(): Literal[] {
    const open = this.next();
    if (open.kind !== '[' && open.kind !== '(')
      throw new FilterSyntaxError(`expected "[" or "(" after "in", found ${describe(open)}`, open.column);
    const close = open.kind === '[' ? ']' : ')';
    const values: Literal[] = [];
    if (this.peek().kind === close) {
      this.next();
      return values;
    }
    for (;;) {
      values.push(this.value());
      const sep = this.next();
      if (sep.kind === close) return values;
      if (sep.kind !== ',') throw new FilterSyntaxError(`expected "," or "${close}", found ${describe(sep)}`, sep.column);
    }
  }

  private value(): Literal {
    const token = this.next();
    switch (token.kind) {
      case 'string':
      case 'number':
        return token.value as Literal;
      case 'word':
        if (token.text === 'true') return true;
        if (token.text === 'false') return false;
        if (token.text === 'null') return null;
        // a bare word is a literal: the compiler writes enum values unquoted (`role == agent`)
        return token.text;
      default:
        throw new FilterSyntaxError(`expected a value, found ${describe(token)}`, token.column);
    }
  }
}

export function parseFilter(text: string): FilterExpr {
  return new Parser(tokenize(text)).parse();
}

/** Every field a filter refers to, with the literals it is compared to, for load-time checks. */
export function filterComparisons(expr: FilterExpr): { field: string; values: Literal[] }[] {
  switch (expr.kind) {
    case 'and':
    case 'or':
      return [...filterComparisons(expr.left), ...filterComparisons(expr.right)];
    case 'not':
      return filterComparisons(expr.expr);
    case 'cmp':
      return [{ field: expr.field, values: [expr.value] }];
    case 'in':
      return [{ field: expr.field, values: expr.values }];
  }
}

/**
 * Whether a filter is false for every row by its shape alone: `x in []` matches nothing, and so does an
 * `&&` with such a side, an `||` of two, or the negation of one that matches everything (`!(x in [])`).
 * Contradictions between comparisons (`x == 1 && x == 2`) are not looked for.
 */
export function matchesNothing(expr: FilterExpr): boolean {
  return truthByShape(expr) === false;
}

/** true: every row; false: no row; undefined: depends on the row. */
function truthByShape(expr: FilterExpr): boolean | undefined {
  switch (expr.kind) {
    case 'in':
      return expr.values.length === 0 ? false : undefined;
    case 'cmp':
      return undefined;
    case 'not': {
      const v = truthByShape(expr.expr);
      return v === undefined ? undefined : !v;
    }
    case 'and': {
      const l = truthByShape(expr.left);
      const r = truthByShape(expr.right);
      if (l === false || r === false) return false;
      return l === true && r === true ? true : undefined;
    }
    case 'or': {
      const l = truthByShape(expr.left);
      const r = truthByShape(expr.right);
      if (l === true || r === true) return true;
      return l === false && r === false ? false : undefined;
    }
  }
}

/** SQL's three-valued logic: undefined stands for UNKNOWN. */
type Truth = boolean | undefined;

/**
 * Evaluates a filter on a row in memory, with the semantics of the SQL WHERE clause it stands for,
 * so that a job whose path is empty (the trigger record) filters exactly as one that queried:
 * a comparison with NULL is unknown except `== null` / `!= null`, NOT of unknown is unknown,
 * and only true keeps the row.
 */
export function evaluateFilter(expr: FilterExpr, row: Record<string, unknown>): boolean {
  return evaluate(expr, row) === true;
}

function evaluate(expr: FilterExpr, row: Record<string, unknown>): Truth {
  switch (expr.kind) {
    case 'and': {
      const l = evaluate(expr.left, row);
      const r = evaluate(expr.right, row);
      if (l === false || r === false) return false;
      return l === true && r === true ? true : undefined;
    }
    case 'or': {
      const l = evaluate(expr.left, row);
      const r = evaluate(expr.right, row);
      if (l === true || r === true) return true;
      return l === false && r === false ? false : undefined;
    }
    case 'not': {
      const v = evaluate(expr.expr, row);
      return v === undefined ? undefined : !v;
    }
    case 'cmp':
      return compareCell(row[expr.field], expr.op, expr.value);
    case 'in': {
      // `x in [a, b]` is `x == a || x == b`, so a null in the list means IS NULL, as `== null` does
      const results = expr.values.map((v) => compareCell(row[expr.field], '==', v));
      if (results.includes(true)) return true;
      return results.includes(undefined) ? undefined : false;
    }
  }
}

function compareCell(cell: unknown, op: CompareOp, value: Literal): Truth {
  const isNull = cell === null || cell === undefined;
  if (value === null) {
    // `== null` is IS NULL and `!= null` IS NOT NULL; ordering against null is unknown
    if (op === '==') return isNull;
    if (op === '!=') return !isNull;
    return undefined;
  }
  if (isNull) return undefined;
  const order = compareValues(cell, value);
  if (order === undefined) return op === '!=' ? true : op === '==' ? false : undefined;
  switch (op) {
    case '==':
      return order === 0;
    case '!=':
      return order !== 0;
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '>':
      return order > 0;
    case '>=':
      return order >= 0;
  }
}

/**
 * Orders a database cell against a literal. Rows come from pg, which hands numeric and bigint
 * columns over as strings and timestamps as Date, so those are compared by what they mean.
 */
function compareValues(cell: unknown, value: Exclude<Literal, null>): number | undefined {
  if (cell instanceof Date) {
    const other = typeof value === 'string' ? Date.parse(value) : typeof value === 'number' ? value : NaN;
    return Number.isNaN(other) ? undefined : Math.sign(cell.getTime() - other);
  }
  if (typeof value === 'number') {
    const n =
      typeof cell === 'number'
        ? cell
        : typeof cell === 'string' && cell.trim() !== ''
          ? Number(cell)
          : typeof cell === 'bigint'
            ? Number(cell)
            : NaN;
    return Number.isNaN(n) ? undefined : Math.sign(n - value);
  }
  if (typeof value === 'boolean') return typeof cell === 'boolean' ? Number(cell) - Number(value) : undefined;
  const text = typeof cell === 'string' ? cell : typeof cell === 'number' || typeof cell === 'bigint' ? String(cell) : undefined;
  if (text === undefined) return undefined;
  return text < value ? -1 : text > value ? 1 : 0;
}
