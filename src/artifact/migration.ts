/**
 * Reads the tables a Forge artifact's `migration.up` creates: the CREATE TABLE and ALTER TABLE statements
 * the compiler emits, enough to know which table holds which column, which columns are NOT NULL without
 * a default, and which columns reference which table. Every other statement (types, functions, indexes,
 * policies, triggers) is skipped. Nothing here runs SQL.
 */

export interface SchemaColumn {
  name: string;
  notNull: boolean;
  hasDefault: boolean;
  /** the table a REFERENCES / FOREIGN KEY of this column points at */
  references?: string;
}

export interface SchemaTable {
  name: string;
  columns: Record<string, SchemaColumn>;
}

/** Tables by name (unquoted names folded to lower case, `public.` dropped), from a migration or the catalog. */
export interface DatabaseSchema {
  origin: 'migration' | 'catalog';
  tables: Record<string, SchemaTable>;
}

export class MigrationSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MigrationSyntaxError';
  }
}

export interface ParsedMigration {
  schema: DatabaseSchema;
  /** statements that looked like table definitions but could not be read; their tables are left out */
  skipped: string[];
}

type Token =
  | { kind: 'word'; text: string; upper: string }
  | { kind: 'ident'; text: string }
  | { kind: 'string' }
  | { kind: 'number' }
  | { kind: 'punct'; text: string };

/** `up` as the compiler writes it: an array of lines (a statement may span several), or one string. */
export function parseMigration(up: string | readonly string[]): ParsedMigration {
  const text = typeof up === 'string' ? up : up.join('\n');
  const schema: DatabaseSchema = { origin: 'migration', tables: {} };
  const skipped: string[] = [];
  const { tokens, error } = tokenize(text);
  if (error !== undefined) skipped.push(error);
  const statements = splitStatements(tokens);
  statements.forEach((tokens) => {
    try {
      applyStatement(schema, tokens);
    } catch (err) {
      if (!(err instanceof MigrationSyntaxError)) throw err;
      skipped.push(err.message);
    }
  });
  return { schema, skipped };
}

/** The key a table is found under: unquoted names fold to lower case, the default schema is dropped. */
export function tableKey(name: string): string {
  return name.startsWith('public.') ? name.slice('public.'.length) : name;
}

/** An artifact's table name, as a key: written unquoted by the compiler, so it folds like SQL would fold it. */
export function artifactTableKey(name: string): string {
  return tableKey(name.toLowerCase());
}

export function findTable(schema: DatabaseSchema, table: string): SchemaTable | undefined {
  return own(schema.tables, tableKey(table)) ?? own(schema.tables, artifactTableKey(table));
}

export function findColumn(table: SchemaTable, column: string): SchemaColumn | undefined {
  return own(table.columns, column) ?? own(table.columns, column.toLowerCase());
}

/**
 * Tokens of the whole text. Text that cannot be tokenized (an unterminated string or comment) ends the
 * input: the statement it is in is dropped, the ones before it are kept.
 */
export function tokenize(text: string): { tokens: Token[]; error?: string } {
  const tokens: Token[] = [];
  try {
    scan(text, tokens);
    return { tokens };
  } catch (err) {
    if (!(err instanceof MigrationSyntaxError)) throw err;
    let end = tokens.length;
    while (end > 0 && !(tokens[end - 1].kind === 'punct' && (tokens[end - 1] as { text: string }).text === ';')) end--;
    return { tokens: tokens.slice(0, end), error: err.message };
  }
}

function scan(text: string, tokens: Token[]): void {
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && text[i + 1] === '-') {
      while (i < n && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      // block comments nest in PostgreSQL
      let depth = 1;
      i += 2;
      while (i < n && depth > 0) {
        if (text[i] === '/' && text[i + 1] === '*') {
          depth++;
          i += 2;
        } else if (text[i] === '*' && text[i + 1] === '/') {
          depth--;
          i += 2;
        } else i++;
      }
      if (depth > 0) throw new MigrationSyntaxError('unterminated /* comment');
    } else if (c === "'" || ((c === 'E' || c === 'e') && text[i + 1] === "'")) {
      const escapes = c !== "'";
      i += escapes ? 2 : 1;
      for (;;) {
        if (i >= n) throw new MigrationSyntaxError('unterminated string literal');
        if (escapes && text[i] === '\\') i += 2;
        else if (text[i] === "'" && text[i + 1] === "'") i += 2;
        else if (text[i] === "'") break;
        else i++;
      }
      i++;
      tokens.push({ kind: 'string' });
    } else if (c === '"') {
      let name = '';
      i++;
      for (;;) {
        if (i >= n) throw new MigrationSyntaxError('unterminated quoted identifier');
        if (text[i] === '"' && text[i + 1] === '"') {
          name += '"';
          i += 2;
        } else if (text[i] === '"') break;
        else name += text[i++];
      }
      i++;
      tokens.push({ kind: 'ident', text: name });
    } else if (c === '$' && /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.test(text.slice(i, i + 64))) {
      const tag = /^\$([A-Za-z_][A-Za-z0-9_]*)?\$/.exec(text.slice(i, i + 64))![0];
      const end = text.indexOf(tag, i + tag.length);
      if (end < 0) throw new MigrationSyntaxError(`unterminated ${tag} string`);
      i = end + tag.length;
      tokens.push({ kind: 'string' });
    } else if (/[A-Za-z_\u0080-\uffff]/.test(c)) {
      let j = i + 1;
      while (j < n && /[A-Za-z0-9_$\u0080-\uffff]/.test(text[j])) j++;
      const word = text.slice(i, j);
      tokens.push({ kind: 'word', text: word.toLowerCase(), upper: word.toUpperCase() });
      i = j;
    } else if (/[0-9]/.test(c)) {
      let j = i + 1;
      while (j < n && /[0-9.eE]/.test(text[j])) j++;
      tokens.push({ kind: 'number' });
      i = j;
    } else {
      tokens.push({ kind: 'punct', text: c });
      i++;
    }
  }
}

/** Own properties only: a table or column may be called `constructor` or `__proto__`. */
export function own<T>(record: Record<string, T>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(record, key) ? record[key] : undefined;
}

function put<T>(record: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(record, key, { value, enumerable: true, writable: true, configurable: true });
}

function splitStatements(tokens: Token[]): Token[][] {
  const statements: Token[][] = [];
  let current: Token[] = [];
  for (const t of tokens) {
    if (t.kind === 'punct' && t.text === ';') {
      if (current.length > 0) statements.push(current);
      current = [];
    } else {
      current.push(t);
    }
  }
  if (current.length > 0) statements.push(current);
  return statements;
}

/** A cursor over one statement's tokens. */
class Cursor {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    public label: string,
  ) {}

  get done(): boolean {
    return this.i >= this.tokens.length;
  }

  peek(offset = 0): Token | undefined {
    return this.tokens[this.i + offset];
  }

  isWord(word: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t?.kind === 'word' && t.upper === word;
  }

  isPunct(p: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t?.kind === 'punct' && t.text === p;
  }

  acceptWords(...words: string[]): boolean {
    if (!words.every((w, k) => this.isWord(w, k))) return false;
    this.i += words.length;
    return true;
  }

  expectPunct(p: string): void {
    if (!this.isPunct(p)) throw this.error(`expected "${p}"`);
    this.i++;
  }

  next(): Token | undefined {
    return this.tokens[this.i++];
  }

  /** An identifier: a bare word folded to lower case, or a quoted name as written. */
  name(what: string): string {
    const t = this.next();
    if (t?.kind === 'word') return t.text;
    if (t?.kind === 'ident') return t.text;
    throw this.error(`expected ${what}`);
  }

  /** `name` or `schema.name`. */
  qualifiedName(what: string): string {
    let name = this.name(what);
    while (this.isPunct('.')) {
      this.i++;
      name += '.' + this.name(what);
    }
    return tableKey(name);
  }

  /** `(a, b)`: a parenthesised list of names. */
  nameList(what: string): string[] {
    this.expectPunct('(');
    const names: string[] = [];
    for (;;) {
      names.push(this.name(what));
      if (this.isPunct(',')) this.i++;
      else break;
    }
    this.expectPunct(')');
    return names;
  }

  /** Skips tokens until a top-level `,` or `)` (not consumed) or the end; parentheses nest. */
  skipElement(): void {
    let depth = 0;
    while (!this.done) {
      const t = this.peek()!;
      if (t.kind === 'punct' && (t.text === '(' || t.text === '[')) depth++;
      else if (t.kind === 'punct' && (t.text === ')' || t.text === ']')) {
        if (depth === 0) return;
        depth--;
      } else if (t.kind === 'punct' && t.text === ',' && depth === 0) return;
      this.i++;
    }
  }

  error(message: string): MigrationSyntaxError {
    const t = this.peek();
    const near =
      t === undefined
        ? 'the end'
        : t.kind === 'word' || t.kind === 'ident'
          ? `"${t.text}"`
          : t.kind === 'punct'
            ? `"${t.text}"`
            : `a ${t.kind}`;
    return new MigrationSyntaxError(`${this.label}: ${message} near ${near}`);
  }
}

function applyStatement(schema: DatabaseSchema, tokens: Token[]): void {
  const c = new Cursor(tokens, 'statement');
  if (c.acceptWords('CREATE')) {
    c.acceptWords('OR', 'REPLACE');
    for (const modifier of ['GLOBAL', 'LOCAL', 'TEMPORARY', 'TEMP', 'UNLOGGED']) c.acceptWords(modifier);
    if (!c.acceptWords('TABLE')) return;
    c.acceptWords('IF', 'NOT', 'EXISTS');
    const name = c.qualifiedName('a table name');
    c.label = `CREATE TABLE ${name}`;
    if (!c.isPunct('(')) return; // CREATE TABLE … AS / OF / PARTITION OF: no column list to read
    createTable(schema, name, c);
    return;
  }
  if (c.acceptWords('ALTER', 'TABLE')) {
    c.acceptWords('IF', 'EXISTS');
    c.acceptWords('ONLY');
    const name = c.qualifiedName('a table name');
    const table = own(schema.tables, name);
    if (table === undefined) return; // a table this migration did not create: nothing known to change
    c.label = `ALTER TABLE ${name}`;
    alterTable(table, c);
    return;
  }
  if (c.acceptWords('DROP', 'TABLE')) {
    c.acceptWords('IF', 'EXISTS');
    for (;;) {
      delete schema.tables[c.qualifiedName('a table name')];
      if (!c.isPunct(',')) break;
      c.next();
    }
  }
}

function createTable(schema: DatabaseSchema, name: string, c: Cursor): void {
  const table: SchemaTable = { name, columns: {} };
  c.expectPunct('(');
  if (!c.isPunct(')')) {
    for (;;) {
      tableElement(table, c);
      if (c.isPunct(',')) {
        c.next();
        continue;
      }
      break;
    }
  }
  c.expectPunct(')');
  put(schema.tables, name, table);
}

const TABLE_CONSTRAINTS = ['CONSTRAINT', 'PRIMARY', 'FOREIGN', 'UNIQUE', 'CHECK', 'EXCLUDE', 'LIKE'];

function tableElement(table: SchemaTable, c: Cursor): void {
  const first = c.peek();
  if (first?.kind === 'word' && TABLE_CONSTRAINTS.includes(first.upper)) {
    tableConstraint(table, c);
    return;
  }
  const column = columnDefinition(c);
  put(table.columns, column.name, column);
}

function tableConstraint(table: SchemaTable, c: Cursor): void {
  if (c.acceptWords('CONSTRAINT')) c.name('a constraint name');
  if (c.acceptWords('PRIMARY', 'KEY')) {
    for (const col of c.nameList('a column name')) {
      const column = own(table.columns, col);
      if (column) column.notNull = true;
    }
  } else if (c.acceptWords('FOREIGN', 'KEY')) {
    const columns = c.nameList('a column name');
    if (!c.acceptWords('REFERENCES')) throw c.error('expected REFERENCES');
    const target = c.qualifiedName('a referenced table');
    for (const col of columns) {
      const column = own(table.columns, col);
      if (column) column.references = target;
    }
  }
  c.skipElement();
}

function columnDefinition(c: Cursor): SchemaColumn {
  const name = c.name('a column name');
  const column: SchemaColumn = { name, notNull: false, hasDefault: false };
  const type = c.peek();
  if (type?.kind === 'word' && ['SERIAL', 'BIGSERIAL', 'SMALLSERIAL', 'SERIAL2', 'SERIAL4', 'SERIAL8'].includes(type.upper))
    column.hasDefault = true;
  columnConstraints(column, c);
  return column;
}

/** Reads a column's type and constraints up to the end of its element. */
function columnConstraints(column: SchemaColumn, c: Cursor): void {
  let depth = 0;
  while (!c.done) {
    if (depth === 0 && (c.isPunct(',') || c.isPunct(')'))) return;
    if (c.isPunct('(')) {
      depth++;
      c.next();
    } else if (c.isPunct(')')) {
      depth--;
      c.next();
    } else if (depth > 0) {
      c.next();
    } else if (c.acceptWords('NOT', 'NULL')) {
      column.notNull = true;
    } else if (c.acceptWords('PRIMARY', 'KEY')) {
      column.notNull = true;
    } else if (c.acceptWords('DEFAULT')) {
      column.hasDefault = true;
      skipExpression(c);
    } else if (c.acceptWords('GENERATED')) {
      column.hasDefault = true;
    } else if (c.acceptWords('REFERENCES')) {
      column.references = c.qualifiedName('a referenced table');
    } else if (c.acceptWords('NULL')) {
      column.notNull = false;
    } else if (c.acceptWords('CHECK')) {
      skipExpression(c);
    } else {
      c.next();
    }
  }
}

/** A DEFAULT or CHECK expression: up to the next constraint keyword or the end of the element. */
const CONSTRAINT_WORDS = ['NOT', 'NULL', 'PRIMARY', 'REFERENCES', 'UNIQUE', 'CHECK', 'CONSTRAINT', 'GENERATED', 'COLLATE', 'DEFAULT'];

function skipExpression(c: Cursor): void {
  let depth = 0;
  let first = true;
  while (!c.done) {
    if (c.isPunct('(')) depth++;
    else if (c.isPunct(')')) {
      if (depth === 0) return;
      depth--;
    } else if (depth === 0) {
      if (c.isPunct(',')) return;
      const t = c.peek()!;
      // `DEFAULT NULL` and `DEFAULT NOT …` are expressions, not constraints
      if (!first && t.kind === 'word' && CONSTRAINT_WORDS.includes(t.upper) && !(t.upper === 'NULL' && c.isWord('NOT', -1))) return;
    }
    first = false;
    c.next();
  }
}

function alterTable(table: SchemaTable, c: Cursor): void {
  for (;;) {
    alterAction(table, c);
    if (c.isPunct(',')) {
      c.next();
      continue;
    }
    if (c.done) return;
    throw c.error('expected "," or the end of the statement');
  }
}

function alterAction(table: SchemaTable, c: Cursor): void {
  if (c.acceptWords('ADD')) {
    const t = c.peek();
    if (t?.kind === 'word' && TABLE_CONSTRAINTS.includes(t.upper) && t.upper !== 'LIKE') {
      tableConstraint(table, c);
      return;
    }
    c.acceptWords('COLUMN');
    c.acceptWords('IF', 'NOT', 'EXISTS');
    const column = columnDefinition(c);
    if (!own(table.columns, column.name)) put(table.columns, column.name, column);
    return;
  }
  if (c.acceptWords('DROP')) {
    if (c.acceptWords('CONSTRAINT')) {
      c.skipElement();
      return;
    }
    c.acceptWords('COLUMN');
    c.acceptWords('IF', 'EXISTS');
    delete table.columns[c.name('a column name')];
    c.skipElement();
    return;
  }
  if (c.acceptWords('ALTER')) {
    c.acceptWords('COLUMN');
    const column = own(table.columns, c.name('a column name'));
    if (column && c.acceptWords('SET', 'NOT', 'NULL')) column.notNull = true;
    else if (column && c.acceptWords('DROP', 'NOT', 'NULL')) column.notNull = false;
    else if (column && c.acceptWords('SET', 'DEFAULT')) column.hasDefault = true;
    else if (column && c.acceptWords('DROP', 'DEFAULT')) column.hasDefault = false;
    c.skipElement();
    return;
  }
  if (c.acceptWords('RENAME')) {
    if (c.acceptWords('COLUMN') || !c.isWord('TO')) {
      const from = c.name('a column name');
      if (!c.acceptWords('TO')) throw c.error('expected TO');
      const to = c.name('a column name');
      const column = own(table.columns, from);
      if (column) {
        delete table.columns[from];
        put(table.columns, to, { ...column, name: to });
      }
    }
    c.skipElement();
    return;
  }
  c.skipElement();
}
