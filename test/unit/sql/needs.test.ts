import type { EntityDef, RelationDef } from '../../../src/artifact/types';
import { compileFilter, hopQuery } from '../../../src/sql/needs';
import { f } from '../../support/artifact-builder';

const HOSTILE = "x'; DROP TABLE users; --";
const users: EntityDef = { name: 'User', table: 'users', fields: {}, relations: {} };

const single: RelationDef = { name: 'org', target: 'Org', target_table: 'orgs', is_many: false, foreign_key: 'org_id' };
const inverse: RelationDef = { name: 'teams', target: 'Team', target_table: 'teams', is_many: true, inverse_key: 'org_id' };
const through: RelationDef = {
  name: 'members',
  target: 'User',
  target_table: 'users',
  is_many: true,
  through: { table: 'memberships', source_key: 'org_id', target_key: 'user_id' },
};

describe('hopQuery', () => {
  it('looks a single relation up by the target id', () => {
    const q = hopQuery(single, 'tickets', [1, 2]);
    expect(q.text).toBe('SELECT t.* FROM "orgs" AS t WHERE t."id" = ANY($1) ORDER BY t."id"');
    expect(q.values).toEqual([[1, 2]]);
  });

  it('looks a many relation up by its inverse key', () => {
    const q = hopQuery(inverse, 'orgs', [7]);
    expect(q.text).toBe('SELECT t.* FROM "teams" AS t WHERE t."org_id" = ANY($1) ORDER BY t."id"');
  });

  it('goes through a join table with IN, so a target linked twice comes back once', () => {
    const q = hopQuery(through, 'orgs', [7]);
    expect(q.text).toBe(
      'SELECT t.* FROM "users" AS t WHERE t."id" IN (SELECT j."user_id" FROM "memberships" AS j WHERE j."org_id" = ANY($1)) ORDER BY t."id"',
    );
  });

  it('appends the filter with parameters numbered after the keys', () => {
    const q = hopQuery(through, 'orgs', [7], { expr: f.and(f.eq('role', 'agent'), f.ne('email', null)), entity: users });
    expect(q.text).toContain(' AND ((t."role" = $2 AND t."email" IS NOT NULL)) ORDER BY');
    expect(q.values).toEqual([[7], 'agent']);
  });

  it('quotes schema-qualified tables and odd identifiers', () => {
    const rel: RelationDef = { name: 'x', target: 'X', target_table: 'app.we"ird', is_many: true, inverse_key: 'a b' };
    expect(hopQuery(rel, 'src', [1]).text).toBe('SELECT t.* FROM "app"."we""ird" AS t WHERE t."a b" = ANY($1) ORDER BY t."id"');
  });

  it('refuses a many relation that says nothing about its storage', () => {
    const rel: RelationDef = { name: 'members', target: 'User', target_table: 'users', is_many: true };
    expect(() => hopQuery(rel, 'orgs', [1])).toThrow(/members from table orgs .* neither foreign_key, inverse_key nor through/);
  });
});

describe('compileFilter', () => {
  it('binds every value and quotes every identifier', () => {
    const c = compileFilter(f.or(f.eq('role', 'agent'), f.ge('age', 30), f.lt('score', 2.5)), 2);
    expect(c.sql).toBe('(("role" = $2 OR "age" >= $3) OR "score" < $4)');
    expect(c.values).toEqual(['agent', 30, 2.5]);
  });

  it('turns null comparisons into IS NULL / IS NOT NULL and binds null elsewhere (unknown)', () => {
    expect(compileFilter(f.eq('role', null), 2)).toEqual({ sql: '"role" IS NULL', values: [] });
    expect(compileFilter(f.ne('role', null), 2)).toEqual({ sql: '"role" IS NOT NULL', values: [] });
    expect(compileFilter(f.lt('age', null), 2)).toEqual({ sql: '"age" < $2', values: [null] });
  });

  it('compiles != to <>', () => {
    expect(compileFilter(f.ne('role', 'agent'), 5)).toEqual({ sql: '"role" <> $5', values: ['agent'] });
  });

  it('compiles in to = ANY, with a null in the list as OR IS NULL', () => {
    expect(compileFilter(f.in('role', ['agent', 'admin']), 2)).toEqual({ sql: '"role" = ANY($2)', values: [['agent', 'admin']] });
    expect(compileFilter(f.in('role', ['agent', null]), 2)).toEqual({ sql: '("role" = ANY($2) OR "role" IS NULL)', values: [['agent']] });
    expect(compileFilter(f.in('role', [null]), 2)).toEqual({ sql: '"role" IS NULL', values: [] });
    expect(compileFilter(f.in('role', []), 2)).toEqual({ sql: 'FALSE', values: [] });
  });

  it('parenthesizes not, and, or', () => {
    const c = compileFilter(f.and(f.eq('a', 1), f.not(f.or(f.eq('b', 'x'), f.eq('c', true)))), 3, 't');
    expect(c.sql).toBe('(t."a" = $3 AND NOT ((t."b" = $4 OR t."c" = $5)))');
    expect(c.values).toEqual([1, 'x', true]);
  });

  it('never puts a hostile value into the text', () => {
    const expr = f.or(f.eq('name', HOSTILE), f.in('name', [HOSTILE, '/* */', "--'"]), f.not(f.ne('name', "a';--")));
    const c = compileFilter(expr, 2);
    for (const bad of [HOSTILE, "'", ';', '--', '/*', '*/', 'DROP']) expect(c.sql).not.toContain(bad);
    expect(c.values).toEqual([HOSTILE, [HOSTILE, '/* */', "--'"], "a';--"]);
  });

  it('quotes a hostile field name instead of running it', () => {
    const c = compileFilter(f.eq('x"; DROP TABLE users; --', 1), 2);
    expect(c.sql).toBe('"x""; DROP TABLE users; --" = $2');
  });

  it('refuses a bad start index or alias', () => {
    expect(() => compileFilter(f.eq('a', 1), 0)).toThrow();
    expect(() => compileFilter(f.eq('a', 1), 2, 't; --')).toThrow();
  });
});
