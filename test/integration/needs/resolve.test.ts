import type { Artifact } from '../../../src/artifact/types';
import { PermanentError } from '../../../src/errors';
import { explainNeeds, resolveNeeds, type QueryFn, type Row } from '../../../src/needs';
import { artifact, f } from '../../support/artifact-builder';
import { createTestDatabase, type TestDatabase } from '../../support/db';

const HOSTILE = "x'; DROP TABLE users; --";

/**
 * Two organizations whose members overlap (carol is in both), so a join on the wrong column or a
 * lookup by the wrong key gives a different set of users.
 */
const SCHEMA = `
  CREATE TABLE orgs (id serial PRIMARY KEY, name text NOT NULL);
  CREATE TABLE users (id serial PRIMARY KEY, name text NOT NULL, email text, role text, age int);
  CREATE TABLE memberships (org_id int NOT NULL REFERENCES orgs, user_id int NOT NULL REFERENCES users, PRIMARY KEY (org_id, user_id));
  CREATE TABLE tickets (id serial PRIMARY KEY, org_id int REFERENCES orgs, assignee_id int REFERENCES users, subject text NOT NULL);
  CREATE TABLE comments (id serial PRIMARY KEY, ticket_id int REFERENCES tickets, body text NOT NULL);
  CREATE TABLE teams (id serial PRIMARY KEY, org_id int NOT NULL REFERENCES orgs, lead_id int REFERENCES users, name text NOT NULL);
  CREATE TABLE team_members (team_id int NOT NULL REFERENCES teams, user_id int NOT NULL REFERENCES users, PRIMARY KEY (team_id, user_id));
`;

const SEED = `
  INSERT INTO orgs (id, name) VALUES (1, 'Acme'), (2, 'Globex'), (3, 'Empty');
  INSERT INTO users (id, name, email, role, age) VALUES
    (1, 'alice', 'alice@acme.test', 'agent', 30),
    (2, 'bob', 'bob@acme.test', 'customer', 40),
    (3, 'carol', 'carol@both.test', 'agent', NULL),
    (4, 'dave', 'dave@globex.test', 'agent', 50),
    (5, 'erin', 'erin@globex.test', 'admin', 35),
    (6, 'frank', NULL, NULL, 25),
    (7, $$${HOSTILE}$$, 'h@acme.test', 'agent', 20);
  INSERT INTO memberships (org_id, user_id) VALUES (1, 1), (1, 2), (1, 3), (1, 6), (1, 7), (2, 3), (2, 4), (2, 5);
  INSERT INTO tickets (id, org_id, assignee_id, subject) VALUES
    (1, 1, 1, 'printer'), (2, 2, 4, 'vpn'), (3, NULL, NULL, 'orphan'), (4, 1, 2, 'billing'), (5, 3, NULL, 'empty org');
  INSERT INTO comments (id, ticket_id, body) VALUES (1, 1, 'first'), (2, 2, 'second'), (3, 3, 'third');
  INSERT INTO teams (id, org_id, lead_id, name) VALUES (1, 1, 1, 'support'), (2, 1, 1, 'billing'), (3, 2, 4, 'ops');
  INSERT INTO team_members (team_id, user_id) VALUES (1, 1), (1, 3), (2, 1), (2, 2), (3, 4);
`;

function model(): Artifact {
  return artifact()
    .entity('Org', 'orgs', ['name'])
    .entity('User', 'users', ['name', 'email', 'role', 'age'])
    .entity('Ticket', 'tickets', ['subject'])
    .entity('Comment', 'comments', ['body'])
    .entity('Team', 'teams', ['name'])
    .single('Ticket', 'org', 'Org')
    .single('Ticket', 'assignee', 'User')
    .single('Comment', 'ticket', 'Ticket')
    .single('Team', 'lead', 'User')
    .through('Org', 'members', 'User', { table: 'memberships', source_key: 'org_id', target_key: 'user_id' })
    .many('Org', 'teams', 'Team')
    .many('Ticket', 'comments', 'Comment')
    .many('User', 'assigned', 'Ticket', 'assignee_id')
    .through('Team', 'members', 'User', { table: 'team_members', source_key: 'team_id', target_key: 'user_id' })
    .job('org_of_ticket', 'Ticket', 'Ticket.org')
    .job('notify_members', 'Ticket', 'Ticket.org.members')
    .job('notify_agents', 'Ticket', 'Ticket.org.members', f.eq('role', 'agent'))
    .job('org_teams', 'Ticket', 'Ticket.org.teams')
    .job('ticket_comments', 'Ticket', 'Ticket.comments')
    .job('members_tickets', 'Ticket', 'Ticket.org.members.assigned')
    .job('self', 'Ticket', 'Ticket')
    .job('self_if_printer', 'Ticket', 'Ticket', f.eq('subject', 'printer'))
    .job('team_members', 'Comment', 'Comment.ticket.org.teams.members')
    .job('team_leads', 'Comment', 'Comment.ticket.org.teams.lead')
    .job('everyone', 'Ticket', ['Ticket.assignee', 'Ticket.org.members', 'Ticket.org.teams.members'])
    .job('hostile_filter', 'Ticket', 'Ticket.org.members', f.or(f.eq('name', HOSTILE), f.in('email', [HOSTILE, 'bob@acme.test'])))
    .build();
}

let db: TestDatabase;
const a = model();

beforeAll(async () => {
  db = await createTestDatabase('forge_needs');
  await db.pool.query(SCHEMA);
  await db.pool.query(SEED);
});

afterAll(async () => {
  await db?.drop();
});

interface Call {
  text: string;
  values: unknown[];
}

function recorder(): { calls: Call[]; query: QueryFn } {
  const calls: Call[] = [];
  const query: QueryFn = async (text, values) => {
    calls.push({ text, values });
    return (await db.pool.query(text, values)).rows;
  };
  return { calls, query };
}

async function row(table: 'tickets' | 'comments', id: number): Promise<Row> {
  const { rows } = await db.pool.query(`SELECT * FROM ${table} WHERE id = $1`, [id]);
  return rows[0];
}

async function resolve(job: string, record: Row, maxTargets?: number) {
  const r = recorder();
  const result = await resolveNeeds({ query: r.query, artifact: a, job: a.jobs[job], record, maxTargets });
  return { ...result, calls: r.calls, ids: result.targets.map((t) => t.id) };
}

describe('resolveNeeds on Postgres', () => {
  it('follows a single relation with one query', async () => {
    const r = await resolve('org_of_ticket', await row('tickets', 1));
    expect(r.targetEntity).toBe('Org');
    expect(r.targets).toEqual([{ id: 1, name: 'Acme' }]);
    expect(r.queries).toBe(1);
    expect(r.calls).toEqual([{ text: expect.stringContaining('"orgs"'), values: [[1]] }]);
  });

  it('follows a single then a many relation through a join table, one query per hop', async () => {
    const acme = await resolve('notify_members', await row('tickets', 1));
    expect(acme.targetEntity).toBe('User');
    expect(acme.ids).toEqual([1, 2, 3, 6, 7]);
    expect(acme.queries).toBe(2);
    expect(acme.calls.map((c) => c.values)).toEqual([[[1]], [[1]]]);

    const globex = await resolve('notify_members', await row('tickets', 2));
    expect(globex.ids).toEqual([3, 4, 5]);
  });

  it('follows a many relation by its inverse key', async () => {
    const teams = await resolve('org_teams', await row('tickets', 1));
    expect(teams.ids).toEqual([1, 2]);
    expect(teams.targetEntity).toBe('Team');

    const comments = await resolve('ticket_comments', await row('tickets', 2));
    expect(comments.targets).toEqual([{ id: 2, ticket_id: 2, body: 'second' }]);
    expect(comments.queries).toBe(1);
    expect(comments.calls[0].values).toEqual([[2]]);
  });

  it('looks up all keys of the previous hop in one query, never one per row', async () => {
    const r = await resolve('members_tickets', await row('tickets', 1));
    expect(r.queries).toBe(3);
    expect(r.calls).toHaveLength(3);
    expect(r.calls[2].values).toEqual([[1, 2, 3, 6, 7]]);
    expect(r.ids).toEqual([1, 4]);
    for (const c of r.calls) expect(c.text).toContain('= ANY($1)');
  });

  it('applies the filter on the last hop only, in SQL', async () => {
    const acme = await resolve('notify_agents', await row('tickets', 1));
    expect(acme.ids).toEqual([1, 3, 7]);
    expect(acme.calls[0].text).not.toContain('role');
    expect(acme.calls[1].text).toContain('"role" = $2');
    expect(acme.calls[1].values).toEqual([[1], 'agent']);

    const globex = await resolve('notify_agents', await row('tickets', 2));
    expect(globex.ids).toEqual([3, 4]);
  });

  it('gives no targets and runs no query when the foreign key is null', async () => {
    const r = await resolve('notify_members', await row('tickets', 3));
    expect(r.targets).toEqual([]);
    expect(r.queries).toBe(0);
    expect(r.calls).toEqual([]);
  });

  it('gives no targets when the foreign key is missing from the record', async () => {
    const r = await resolve('notify_members', { id: 1, subject: 'partial' });
    expect(r.targets).toEqual([]);
    expect(r.queries).toBe(0);
  });

  it('stops at the hop whose previous hop found nothing', async () => {
    const orphan = await resolve('team_members', await row('comments', 3));
    expect(orphan.targets).toEqual([]);
    expect(orphan.queries).toBe(1); // the ticket, whose org_id is null

    const emptyOrg = await resolve('members_tickets', await row('tickets', 5));
    expect(emptyOrg.targets).toEqual([]);
    expect(emptyOrg.queries).toBe(2); // the org, then its (no) members; the third hop has no keys
  });

  it('gives the trigger record itself for an empty path, filtered in memory', async () => {
    const ticket = await row('tickets', 1);
    const self = await resolve('self', ticket);
    expect(self.targets).toEqual([ticket]);
    expect(self.targetEntity).toBe('Ticket');
    expect(self.queries).toBe(0);

    expect((await resolve('self_if_printer', ticket)).targets).toEqual([ticket]);
    const other = await resolve('self_if_printer', await row('tickets', 2));
    expect(other.targets).toEqual([]);
    expect(other.queries).toBe(0);
  });

  it('collapses duplicates on a four-hop path', async () => {
    // alice is in both Acme teams: the join-table hop returns her once.
    const members = await resolve('team_members', await row('comments', 1));
    expect(members.ids).toEqual([1, 2, 3]);
    expect(members.queries).toBe(4);

    // both Acme teams are led by alice: the last hop looks one key up and returns one row.
    const leads = await resolve('team_leads', await row('comments', 1));
    expect(leads.ids).toEqual([1]);
    expect(leads.queries).toBe(4);
    expect(leads.calls[3].values).toEqual([[1]]);

    const globex = await resolve('team_members', await row('comments', 2));
    expect(globex.ids).toEqual([4]);
  });

  it('unions several paths and de-duplicates by id in first-seen order', async () => {
    const r = await resolve('everyone', await row('tickets', 4)); // assignee bob, Acme
    expect(r.ids).toEqual([2, 1, 3, 6, 7]);
    expect(new Set(r.ids).size).toBe(r.ids.length);
    expect(r.queries).toBe(1 + 2 + 3);

    const globex = await resolve('everyone', await row('tickets', 2)); // assignee dave, Globex
    expect(globex.ids).toEqual([4, 3, 5]);
  });

  it('matches hostile filter values literally and never puts them in SQL text', async () => {
    const r = await resolve('hostile_filter', await row('tickets', 1));
    expect(r.ids).toEqual([2, 7]);
    expect(r.targets.find((t) => t.id === 7)?.name).toBe(HOSTILE);
    for (const c of r.calls) {
      expect(c.text).not.toContain(HOSTILE);
      expect(c.text).not.toMatch(/DROP|;|--|'/);
    }
    expect(r.calls[1].values).toEqual([[1], HOSTILE, [HOSTILE, 'bob@acme.test']]);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM users');
    expect(rows[0].n).toBe(7);
  });

  it('binds a hostile record value and refuses it as a permanent error when it does not fit the column', async () => {
    const r = recorder();
    const record = { id: 99, org_id: HOSTILE, subject: HOSTILE };
    const attempt = resolveNeeds({ query: r.query, artifact: a, job: a.jobs.notify_members, record });
    await expect(attempt).rejects.toThrow(PermanentError);
    await expect(resolveNeeds({ query: r.query, artifact: a, job: a.jobs.notify_members, record })).rejects.toThrow(
      /needs of job notify_members, hop Ticket.org: invalid input syntax for type integer/,
    );
    expect(r.calls.length).toBeGreaterThan(0);
    for (const c of r.calls) expect(c.text).not.toContain(HOSTILE);
    expect(r.calls[0].values).toEqual([[HOSTILE]]);
    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM users');
    expect(rows[0].n).toBe(7);
  });

  it('refuses more targets than maxTargets with a permanent error', async () => {
    const ticket = await row('tickets', 1);
    const attempt = resolve('notify_members', ticket, 3);
    await expect(attempt).rejects.toThrow(PermanentError);
    await expect(resolve('notify_members', ticket, 3)).rejects.toThrow(
      'needs of job notify_members reached 5 targets, more than the limit 3',
    );
    expect((await resolve('notify_members', ticket, 5)).ids).toHaveLength(5);
  });

  it('counts the union against maxTargets, not each path', async () => {
    const ticket = await row('tickets', 4);
    expect((await resolve('everyone', ticket, 5)).ids).toHaveLength(5);
    await expect(resolve('everyone', ticket, 4)).rejects.toThrow('reached 5 targets, more than the limit 4');
  });

  it('accepts a pg Pool as the query', async () => {
    const r = await resolveNeeds({ query: db.pool, artifact: a, job: a.jobs.notify_agents, record: await row('tickets', 1) });
    expect(r.targets.map((t) => t.name)).toEqual(['alice', 'carol', HOSTILE]);
    expect(r.queries).toBe(2);
  });

  it('explains each hop with its SQL, parameters and rows', async () => {
    const ticket = await row('tickets', 1);
    const plan = await explainNeeds({ query: db.pool, artifact: a, job: a.jobs.notify_agents, record: ticket });
    expect(plan.hops.map((h) => [h.path, h.hop, h.values])).toEqual([
      ['Ticket.org.members', 'Ticket.org', [[1]]],
      ['Ticket.org.members', 'Org.members', [[1], 'agent']],
    ]);
    expect(plan.hops[0].sql).toMatch(/^SELECT t\.\* FROM "orgs"/);
    expect(plan.hops.map((h) => h.storage)).toEqual([
      'tickets.org_id → orgs.id (from the artifact)',
      'join table memberships: org_id → orgs.id, user_id → users.id (from the artifact)',
    ]);
    expect(plan.hops[0].rows).toEqual([{ id: 1, name: 'Acme' }]);
    expect(plan.hops[1].rows.map((u) => u.id)).toEqual([1, 3, 7]);
    expect(plan.targets).toEqual(plan.hops[1].rows);
    expect(plan.queries).toBe(2);

    const skipped = await explainNeeds({ query: db.pool, artifact: a, job: a.jobs.notify_members, record: await row('tickets', 3) });
    expect(skipped.hops).toEqual([
      {
        path: 'Ticket.org.members',
        hop: 'Ticket.org',
        storage: 'tickets.org_id → orgs.id (from the artifact)',
        sql: null,
        values: [],
        rows: [],
        note: "the trigger record's org_id is null",
      },
    ]);

    const self = await explainNeeds({ query: db.pool, artifact: a, job: a.jobs.self, record: ticket });
    expect(self.hops).toEqual([
      { path: 'Ticket', hop: 'Ticket', sql: null, values: [], rows: [ticket], note: 'the trigger record itself' },
    ]);
  });
});
