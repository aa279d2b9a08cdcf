import type { FilterExpr } from '../../../src/artifact/types';
import { evaluateFilter } from '../../../src/artifact/filter';
import { resolveNeeds, type Row } from '../../../src/needs';
import { artifact, f } from '../../support/artifact-builder';
import { createTestDatabase, type TestDatabase } from '../../support/db';

const HOSTILE = "x'; DROP TABLE people; --";

/** Two teams, so a filter that escaped its hop would pull in the other team's people. */
const SCHEMA = `
  CREATE TYPE role AS ENUM ('agent', 'customer', 'admin');
  CREATE TABLE squads (id serial PRIMARY KEY, name text NOT NULL);
  CREATE TABLE people (
    id serial PRIMARY KEY, squad_id int NOT NULL REFERENCES squads, name text NOT NULL,
    role role, age int, active boolean NOT NULL DEFAULT true, score numeric, joined timestamptz
  );
  CREATE TABLE events (id serial PRIMARY KEY, squad_id int REFERENCES squads, kind text);
  INSERT INTO squads (id, name) VALUES (1, 'red'), (2, 'blue');
  INSERT INTO people (id, squad_id, name, role, age, active, score, joined) VALUES
    (1, 1, 'ann', 'agent', 30, true, 1.5, '2024-01-01T00:00:00Z'),
    (2, 1, 'ben', 'customer', 40, false, 2.5, '2024-06-01T00:00:00Z'),
    (3, 1, 'cat', NULL, NULL, true, NULL, NULL),
    (4, 1, $$${HOSTILE}$$, 'admin', 20, true, 10, '2023-01-01T00:00:00Z'),
    (5, 1, 'dan', 'agent', 35, false, 0, '2025-01-01T00:00:00Z'),
    (6, 2, 'eve', 'agent', 30, true, 1.5, '2024-01-01T00:00:00Z'),
    (7, 2, 'fay', NULL, NULL, true, NULL, NULL);
  INSERT INTO events (id, squad_id, kind) VALUES (1, 1, 'created'), (2, 2, 'created');
`;

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('forge_needs_filter');
  await db.pool.query(SCHEMA);
});

afterAll(async () => {
  await db?.drop();
});

function jobWith(filter: FilterExpr) {
  const a = artifact()
    .entity('Squad', 'squads', ['name'])
    .entity('Person', 'people', ['name', 'role', 'age', 'active', 'score', 'joined'])
    .entity('Event', 'events', ['kind'])
    .single('Event', 'squad', 'Squad')
    .many('Squad', 'people', 'Person')
    .job('j', 'Event', 'Event.squad.people', filter)
    .build();
  return { artifact: a, job: a.jobs.j };
}

async function viaSql(filter: FilterExpr, eventId = 1): Promise<number[]> {
  const { rows } = await db.pool.query('SELECT * FROM events WHERE id = $1', [eventId]);
  const r = await resolveNeeds({ query: db.pool, ...jobWith(filter), record: rows[0] });
  return r.targets.map((t) => t.id as number);
}

async function inMemory(filter: FilterExpr, squadId = 1): Promise<number[]> {
  const { rows } = await db.pool.query<Row>('SELECT * FROM people WHERE squad_id = $1 ORDER BY id', [squadId]);
  return rows.filter((p) => evaluateFilter(filter, p)).map((p) => p.id as number);
}

const cases: Array<[string, FilterExpr, number[]]> = [
  ['role == agent', f.eq('role', 'agent'), [1, 5]],
  ['role != agent (null role is unknown)', f.ne('role', 'agent'), [2, 4]],
  ['!(role == agent) (not of unknown stays unknown)', f.not(f.eq('role', 'agent')), [2, 4]],
  ['role == null', f.eq('role', null), [3]],
  ['role != null', f.ne('role', null), [1, 2, 4, 5]],
  ['!(role == null)', f.not(f.eq('role', null)), [1, 2, 4, 5]],
  ['role in [agent, admin]', f.in('role', ['agent', 'admin']), [1, 4, 5]],
  ['role in [customer, null]', f.in('role', ['customer', null]), [2, 3]],
  ['!(role in [agent, null])', f.not(f.in('role', ['agent', null])), [2, 4]],
  ['!(role in [agent])', f.not(f.in('role', ['agent'])), [2, 4]],
  ['role in []', f.in('role', []), []],
  ['age < 35', f.lt('age', 35), [1, 4]],
  ['age <= 35', f.le('age', 35), [1, 4, 5]],
  ['age > 30', f.gt('age', 30), [2, 5]],
  ['age >= 30', f.ge('age', 30), [1, 2, 5]],
  ['!(age < 35) (null age is unknown)', f.not(f.lt('age', 35)), [2, 5]],
  ['age < null', f.lt('age', null), []],
  ['!(age < null)', f.not(f.lt('age', null)), []],
  ['active == true', f.eq('active', true), [1, 3, 4]],
  ['active != true', f.ne('active', true), [2, 5]],
  ['score > 2', f.gt('score', 2), [2, 4]],
  ['score == 1.5', f.eq('score', 1.5), [1]],
  ['joined < "2024-03-01"', f.lt('joined', '2024-03-01T00:00:00Z'), [1, 4]],
  ['name == hostile', f.eq('name', HOSTILE), [4]],
  ['name in [hostile, ben]', f.in('name', [HOSTILE, 'ben']), [2, 4]],
  ['role == agent && !(name == "dan" || age > 100)', f.and(f.eq('role', 'agent'), f.not(f.or(f.eq('name', 'dan'), f.gt('age', 100)))), [1]],
  [
    '(role == agent || role == null) && active == true',
    f.and(f.or(f.eq('role', 'agent'), f.eq('role', null)), f.eq('active', true)),
    [1, 3],
  ],
  ['!!(age >= 30)', f.not(f.not(f.ge('age', 30))), [1, 2, 5]],
  ['!(age >= 30 && role == agent)', f.not(f.and(f.ge('age', 30), f.eq('role', 'agent'))), [2, 4]],
  ['!(!(age >= 30) && role != null)', f.not(f.and(f.not(f.ge('age', 30)), f.ne('role', null))), [1, 2, 3, 5]],
];

describe('needs filter', () => {
  it.each(cases)('%s selects the same people in SQL and with evaluateFilter', async (_name, filter, expected) => {
    expect(await viaSql(filter)).toEqual(expected);
    expect(await inMemory(filter)).toEqual(expected);
  });

  it('never selects people of the other squad', async () => {
    expect(await viaSql(f.eq('role', 'agent'), 2)).toEqual([6]);
    expect(await viaSql(f.eq('role', null), 2)).toEqual([7]);
    expect(await inMemory(f.eq('role', null), 2)).toEqual([7]);
  });

  it('treats a field missing from a partial trigger record as null', () => {
    expect(evaluateFilter(f.eq('role', null), {})).toBe(true);
    expect(evaluateFilter(f.ne('role', 'agent'), {})).toBe(false);
    expect(evaluateFilter(f.lt('age', 3), {})).toBe(false);
  });
});
