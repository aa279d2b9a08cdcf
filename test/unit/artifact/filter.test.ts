import { evaluateFilter, filterComparisons, FilterSyntaxError, parseFilter } from '../../../src/artifact';
import type { FilterExpr } from '../../../src/artifact';

const cmp = (field: string, op: string, value: unknown): FilterExpr => ({ kind: 'cmp', field, op, value }) as FilterExpr;

describe('parseFilter', () => {
  test('the compiler writes a parenthesized comparison with a bare enum value', () => {
    expect(parseFilter('(role == agent)')).toEqual(cmp('role', '==', 'agent'));
  });

  test('the CEL spelling and the source spelling give the same tree', () => {
    const cel = parseFilter('(((role == agent) && !(((name == "x") || (email != "y@z")))) && (role != customer))');
    const source = parseFilter('role == agent and not (name == "x" or email != "y@z") and role != customer');
    expect(cel).toEqual(source);
    expect(cel).toEqual({
      kind: 'and',
      left: {
        kind: 'and',
        left: cmp('role', '==', 'agent'),
        right: { kind: 'not', expr: { kind: 'or', left: cmp('name', '==', 'x'), right: cmp('email', '!=', 'y@z') } },
      },
      right: cmp('role', '!=', 'customer'),
    });
  });

  test.each(['==', '!=', '<', '<=', '>', '>='])('comparison %s', (op) => {
    expect(parseFilter(`points ${op} 3`)).toEqual(cmp('points', op, 3));
  });

  test('comparison operators need no spaces', () => {
    expect(parseFilter('points>=3&&role!=agent')).toEqual({ kind: 'and', left: cmp('points', '>=', 3), right: cmp('role', '!=', 'agent') });
  });

  test('in with brackets and with parentheses', () => {
    const expected = { kind: 'in', field: 'role', values: ['agent', 'admin', 7, null] };
    expect(parseFilter('role in [agent, "admin", 7, null]')).toEqual(expected);
    expect(parseFilter('role in (agent, "admin", 7, null)')).toEqual(expected);
    expect(parseFilter('role in []')).toEqual({ kind: 'in', field: 'role', values: [] });
  });

  test('not in is the negation of in', () => {
    expect(parseFilter('role not in [agent]')).toEqual({ kind: 'not', expr: { kind: 'in', field: 'role', values: ['agent'] } });
  });

  test('precedence: not binds tighter than and, and tighter than or', () => {
    expect(parseFilter('a == 1 || b == 2 && !c == 3')).toEqual({
      kind: 'or',
      left: cmp('a', '==', 1),
      right: { kind: 'and', left: cmp('b', '==', 2), right: { kind: 'not', expr: cmp('c', '==', 3) } },
    });
    expect(parseFilter('(a == 1 or b == 2) and c == 3')).toEqual({
      kind: 'and',
      left: { kind: 'or', left: cmp('a', '==', 1), right: cmp('b', '==', 2) },
      right: cmp('c', '==', 3),
    });
  });

  test('and / or are left-associative', () => {
    expect(parseFilter('a == 1 and b == 2 and c == 3')).toEqual({
      kind: 'and',
      left: { kind: 'and', left: cmp('a', '==', 1), right: cmp('b', '==', 2) },
      right: cmp('c', '==', 3),
    });
  });

  test('word operators are case-insensitive', () => {
    expect(parseFilter('a == 1 AND NOT b == 2 Or c == 3')).toEqual(parseFilter('a == 1 && !b == 2 || c == 3'));
  });

  test('double- and single-quoted strings, with escapes', () => {
    expect(parseFilter('name == "say \\"hi\\""')).toEqual(cmp('name', '==', 'say "hi"'));
    expect(parseFilter("name == 'it\\'s'")).toEqual(cmp('name', '==', "it's"));
    expect(parseFilter('name == \'a "b"\'')).toEqual(cmp('name', '==', 'a "b"'));
    expect(parseFilter('name == "tab\\tnl\\nback\\\\slash\\u00e9"')).toEqual(cmp('name', '==', 'tab\tnl\nback\\slash\u00e9'));
    expect(parseFilter('name == ""')).toEqual(cmp('name', '==', ''));
  });

  test('a quoted keyword is a string, a bare keyword a literal', () => {
    expect(parseFilter('flag == "true"')).toEqual(cmp('flag', '==', 'true'));
    expect(parseFilter('flag == true')).toEqual(cmp('flag', '==', true));
    expect(parseFilter('flag == false')).toEqual(cmp('flag', '==', false));
    expect(parseFilter('email == null')).toEqual(cmp('email', '==', null));
    expect(parseFilter('email != "null"')).toEqual(cmp('email', '!=', 'null'));
  });

  test('numbers: integers, decimals, negatives, exponents', () => {
    expect(parseFilter('n == 42')).toEqual(cmp('n', '==', 42));
    expect(parseFilter('n == 3.25')).toEqual(cmp('n', '==', 3.25));
    expect(parseFilter('n > -5')).toEqual(cmp('n', '>', -5));
    expect(parseFilter('n >= -0.5')).toEqual(cmp('n', '>=', -0.5));
    expect(parseFilter('n < 1e3')).toEqual(cmp('n', '<', 1000));
    expect(parseFilter('n in [-1, 2]')).toEqual({ kind: 'in', field: 'n', values: [-1, 2] });
  });

  test('hostile values stay plain string literals', () => {
    expect(parseFilter(`name == "x'; drop table users; --"`)).toEqual(cmp('name', '==', "x'; drop table users; --"));
    expect(parseFilter(`name == 'x"; select pg_sleep(10); --'`)).toEqual(cmp('name', '==', 'x"; select pg_sleep(10); --'));
    expect(parseFilter('name == "$1) OR (1=1"')).toEqual(cmp('name', '==', '$1) OR (1=1'));
  });

  test.each([
    ['', 'expected a field name, found end of filter at column 1'],
    ['(role == )', 'expected a value, found ")" at column 10'],
    ['(role == agent', 'expected ")", found end of filter at column 15'],
    ['role == agent)', 'unexpected ")" at column 14'],
    ['role agent', 'expected a comparison operator or "in" after "role", found "agent" at column 6'],
    ['role = agent', 'unexpected character "=" at column 6'],
    ['"role" == agent', 'expected a field name, found "\\"role\\"" at column 1'],
    ['name == "open', 'unterminated string at column 9'],
    ['name == "a\\qb"', 'invalid escape "\\q" at column 11'],
    ['name == "\\u12"', 'invalid \\u escape at column 10'],
    ['role in [agent admin]', 'expected "," or "]", found "admin" at column 16'],
    ['role in agent', 'expected "[" or "(" after "in", found "agent" at column 9'],
    ['role == agent &&', 'expected a field name, found end of filter at column 17'],
    ['role == agent; drop table users', 'unexpected character ";" at column 14'],
    ['n == 12abc', 'invalid number "12a" at column 6'],
    ['a == 1 or or b == 2', 'expected a field name, found "or" at column 11'],
  ])('syntax error in %j', (text, message) => {
    let error: unknown;
    try {
      parseFilter(text);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(FilterSyntaxError);
    expect((error as Error).message).toBe(message);
    expect((error as FilterSyntaxError).column).toBe(Number(/column (\d+)$/.exec(message)?.[1]));
  });
});

describe('filterComparisons', () => {
  test('lists every field with its literals', () => {
    expect(filterComparisons(parseFilter('role == agent and not (kind in [a, b] or n > 1)'))).toEqual([
      { field: 'role', values: ['agent'] },
      { field: 'kind', values: ['a', 'b'] },
      { field: 'n', values: [1] },
    ]);
  });
});

describe('evaluateFilter', () => {
  const agent = { role: 'agent', name: 'Alice', email: 'alice@acme.test', points: 5, active: true, nickname: null };
  const ok = (text: string, row: Record<string, unknown> = agent): boolean => evaluateFilter(parseFilter(text), row);

  test('comparisons on strings, numbers, booleans', () => {
    expect(ok('(role == agent)')).toBe(true);
    expect(ok('role != agent')).toBe(false);
    expect(ok('points > 4 && points <= 5')).toBe(true);
    expect(ok('points < 5')).toBe(false);
    expect(ok('points >= 5.0')).toBe(true);
    expect(ok('active == true')).toBe(true);
    expect(ok('active != false')).toBe(true);
    expect(ok('name < "Bob"')).toBe(true);
  });

  test('in, not, or', () => {
    expect(ok('role in [admin, agent]')).toBe(true);
    expect(ok('role in (admin, customer)')).toBe(false);
    expect(ok('role not in [admin]')).toBe(true);
    expect(ok('!(role == agent) || points == 5')).toBe(true);
    expect(ok('(((role == agent) && !(((name == "x") || (email != "alice@acme.test")))) && (role != customer))')).toBe(true);
  });

  test('null: only == null and != null match', () => {
    expect(ok('nickname == null')).toBe(true);
    expect(ok('nickname != null')).toBe(false);
    expect(ok('missing == null')).toBe(true);
    expect(ok('name != null')).toBe(true);
    expect(ok('nickname == "x"')).toBe(false);
    expect(ok('nickname != "x"')).toBe(false);
    expect(ok('nickname < 3')).toBe(false);
    expect(ok('points > null')).toBe(false);
  });

  test('unknown propagates through not, as in SQL', () => {
    expect(ok('!(nickname == "x")')).toBe(false);
    expect(ok('not (nickname in [a, b])')).toBe(false);
    expect(ok('nickname == "x" or role == agent')).toBe(true);
    expect(ok('!(nickname == "x" and role == admin)')).toBe(true);
  });

  test('in is a chain of ==, so a null in the list matches null', () => {
    expect(ok('role in [admin, null]')).toBe(false);
    expect(ok('not (role in [admin, null])')).toBe(true);
    expect(ok('nickname in [a, null]')).toBe(true);
    expect(ok('nickname in [a, b]')).toBe(false);
  });

  test('values as pg returns them: numeric strings and dates', () => {
    expect(ok('amount > 10', { amount: '12.50' })).toBe(true);
    expect(ok('amount == 12.5', { amount: '12.50' })).toBe(true);
    expect(ok('due < "2025-01-01"', { due: new Date('2024-06-01T00:00:00Z') })).toBe(true);
    expect(ok('due > "2025-01-01"', { due: new Date('2024-06-01T00:00:00Z') })).toBe(false);
  });

  test('different types are not equal', () => {
    expect(ok('active == "yes"')).toBe(false);
    expect(ok('role == 3')).toBe(false);
    expect(ok('role != 3')).toBe(true);
  });
});
