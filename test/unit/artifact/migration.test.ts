import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findColumn, findTable, parseMigration } from '../../../src/artifact/migration';

const COMPILED = JSON.parse(readFileSync(join(__dirname, '../../../examples/helpdesk/artifact.json'), 'utf8'));

describe('parseMigration on the compiler’s helpdesk migration', () => {
  const { schema, skipped } = parseMigration(COMPILED.migration.up);

  test('reads the six tables and nothing else', () => {
    expect(skipped).toEqual([]);
    expect(Object.keys(schema.tables).sort()).toEqual(['activity_logs', 'comments', 'organizations', 'tags', 'tickets', 'users']);
  });

  test('columns with nullability, defaults and references', () => {
    const orgs = schema.tables.organizations.columns;
    expect(orgs.members_id).toEqual({ name: 'members_id', notNull: true, hasDefault: false, references: 'users' });
    expect(orgs.plan).toEqual({ name: 'plan', notNull: true, hasDefault: true });
    expect(orgs.id).toEqual({ name: 'id', notNull: true, hasDefault: true });
    expect(schema.tables.tickets.columns.tags_id).toMatchObject({ notNull: true, references: 'tags' });
    expect(schema.tables.users.columns.avatar_url).toEqual({ name: 'avatar_url', notNull: true, hasDefault: false });
    expect(Object.keys(schema.tables.activity_logs.columns)).toEqual([
      'id',
      'created_at',
      'updated_at',
      'description',
      'entity_type',
      'entity_id',
      'org_id',
    ]);
  });
});

describe('parseMigration on other shapes', () => {
  test('quoted identifiers, table constraints, ALTER TABLE and a schema prefix', () => {
    const { schema, skipped } = parseMigration(`
      CREATE TABLE "Team Members" ("Team" uuid, "user" uuid NOT NULL, note text DEFAULT 'a, b; (c)',
        CONSTRAINT pk PRIMARY KEY ("Team", "user"),
        CONSTRAINT fk_team FOREIGN KEY ("Team") REFERENCES public.teams (id) ON DELETE CASCADE,
        FOREIGN KEY ("user") REFERENCES "users"(id));
      CREATE TABLE public.teams (id serial, name varchar(20) NOT NULL CHECK (length(name) > 0), count int DEFAULT NULL NOT NULL);
      ALTER TABLE teams ADD COLUMN IF NOT EXISTS lead_id uuid REFERENCES users (id), ADD owner uuid;
      ALTER TABLE ONLY teams ALTER COLUMN owner SET NOT NULL, DROP COLUMN count;
      ALTER TABLE teams ADD CONSTRAINT owner_fk FOREIGN KEY (owner) REFERENCES users(id);
    `);
    expect(skipped).toEqual([]);
    expect(schema.tables['Team Members'].columns).toEqual({
      Team: { name: 'Team', notNull: true, hasDefault: false, references: 'teams' },
      user: { name: 'user', notNull: true, hasDefault: false, references: 'users' },
      note: { name: 'note', notNull: false, hasDefault: true },
    });
    expect(schema.tables.teams.columns).toEqual({
      id: { name: 'id', notNull: false, hasDefault: true },
      name: { name: 'name', notNull: true, hasDefault: false },
      lead_id: { name: 'lead_id', notNull: false, hasDefault: false, references: 'users' },
      owner: { name: 'owner', notNull: true, hasDefault: false, references: 'users' },
    });
    expect(findColumn(findTable(schema, 'Teams')!, 'LEAD_ID')?.name).toBe('lead_id');
  });

  test('functions, dollar quotes, comments and strings never open a table', () => {
    const { schema } = parseMigration([
      '/* CREATE TABLE a (x int); /* nested */ still a comment */',
      "CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN EXECUTE 'CREATE TABLE b (y int);'; END; $body$ LANGUAGE plpgsql;",
      '-- CREATE TABLE c (z int);',
      "INSERT INTO t VALUES ('CREATE TABLE d (w int);');",
      'CREATE TABLE e AS SELECT 1 AS one;',
      'CREATE TABLE IF NOT EXISTS ok (id uuid PRIMARY KEY);',
    ]);
    expect(Object.keys(schema.tables)).toEqual(['ok']);
  });

  test('hostile or broken input is reported, never thrown, and loses only its own statement', () => {
    const broken = parseMigration(
      'CREATE TABLE good (id int); CREATE TABLE bad (id int, FOREIGN KEY (x REFERENCES y); CREATE TABLE after (id int);',
    );
    expect(Object.keys(broken.schema.tables).sort()).toEqual(['after', 'good']);
    expect(broken.skipped).toEqual([expect.stringMatching(/^CREATE TABLE bad: expected "\)"/)]);

    for (const text of ["CREATE TABLE x (a text DEFAULT 'open", 'CREATE TABLE "x (a int)', 'CREATE FUNCTION f() AS $$ x', '/* x']) {
      const result = parseMigration(text);
      expect(result.schema.tables).toEqual({});
      expect(result.skipped).toEqual([expect.stringMatching(/unterminated/)]);
    }
    expect(parseMigration('').schema.tables).toEqual({});
    expect(parseMigration(['CREATE TABLE __proto__ (constructor int)']).schema.tables.__proto__.columns.constructor).toMatchObject({
      name: 'constructor',
    });
  });
});
