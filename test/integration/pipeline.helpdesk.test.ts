/**
 * The helpdesk end to end on the real dev server, Postgres and an SMTP server, on the schema the compiler's
 * own migration creates and with no relation override: commit → hooks → one workflow per job → needs →
 * email effects. Organization.members is stored as organizations.members_id, one member per organization.
 */
import { join } from 'node:path';
import { startMailSink } from '../../src/dev/mail-sink';
import { SA } from '../../src/names';
import type { TestDatabase } from '../support/db';
import { HELPDESK, helpdeskDatabase } from '../support/helpdesk';
import { eventually, outcome, recordHistory, startTestStack, temporal, testConfig, type TestStack } from '../support/stack';

let db: TestDatabase;
let sink: Awaited<ReturnType<typeof startMailSink>>;
let pipeline: TestStack;

beforeAll(async () => {
  db = await helpdeskDatabase();
  sink = await startMailSink();
  const config = testConfig('helpdesk', {
    email: { host: '127.0.0.1', port: sink.smtpPort, from: 'helpdesk@forge.test' },
    jobs: { notify_agents: { subject: 'New ticket: {{trigger.subject}}' } },
  });
  pipeline = await startTestStack({ artifact: join(HELPDESK, 'artifact.json'), config, pool: db.pool });
});

afterAll(async () => {
  await pipeline?.stop();
  await sink?.close();
  await db?.drop();
});

/** The members of an organization as the compiler's schema stores them: the one user of organizations.members_id. */
async function orgUsers(org: string, role?: string): Promise<string[]> {
  const { rows } = await db.pool.query(
    `SELECT u.email FROM users u JOIN organizations o ON o.members_id = u.id
     WHERE o.name = $1 AND ($2::text IS NULL OR u.role::text = $2) ORDER BY u.email`,
    [org, role ?? null],
  );
  return rows.map((r) => r.email);
}

const CUSTOMER: Record<string, string> = { Acme: 'carol.customer@acme.test', Globex: 'hank.customer@globex.test' };

async function createTicket(org: string, subject: string) {
  return pipeline.client.withTransaction(db.pool, async (tx, emit) => {
    const {
      rows: [o],
    } = await tx.query('SELECT id, members_id FROM organizations WHERE name = $1', [org]);
    const {
      rows: [author],
    } = await tx.query('SELECT id FROM users WHERE email = $1', [CUSTOMER[org]]);
    const {
      rows: [tag],
    } = await tx.query(`SELECT id FROM tags WHERE name = 'bug'`);
    const {
      rows: [ticket],
    } = await tx.query(
      'INSERT INTO tickets (subject, description, org_id, author_id, assignee_id, tags_id) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *',
      [subject, 'It broke.', o.id, author.id, o.members_id, tag.id],
    );
    emit('Ticket', 'create', ticket);
    return ticket;
  });
}

test('the compiler’s quirks are decided at load: members stored on organizations, the log jobs refused', () => {
  const artifact = pipeline.worker.artifact;
  expect(artifact.entities.Organization.relations.members).toMatchObject({
    is_many: true,
    foreign_key: 'members_id',
    storage: 'migration',
  });
  expect(artifact.warnings).toContain(
    'entities.Organization.relations.members: many relation stored as organizations.members_id (from the migration): it holds one User per Organization row',
  );
  expect(artifact.warnings).toContain(
    `jobs.log_ticket_created.field_mappings.action: table activity_logs has no column "action" in the artifact's migration; the insert leaves it out`,
  );
  expect(artifact.refused?.log_ticket_created).toMatch(
    /^refused: table activity_logs needs entity_id, org_id \(NOT NULL without a default/,
  );
  expect(artifact.jobs.log_ticket_created).toBeUndefined();
  const logged = pipeline.logs.filter((r) => r.event === 'artifact.warning').map((r) => r.warning);
  expect(logged).toEqual(
    expect.arrayContaining([
      expect.stringMatching(/^jobs\.log_ticket_created: refused: /),
      expect.stringMatching(/^jobs\.log_ticket_updated: refused: /),
    ]),
  );
});

test('a new ticket mails exactly its organization’s agents; the refused log job starts nothing', async () => {
  const ticket = await createTicket('Acme', 'Printer on fire');
  const workflows = await eventually(async () => {
    const list = [];
    for await (const wf of (await temporal()).workflow.list({ query: `ForgeRecordId = "${ticket.id}"` })) list.push(wf);
    return list.length === 1 && list;
  });
  expect(workflows.map((w) => w.typedSearchAttributes.get(SA.job))).toEqual(['notify_agents']);

  for (const wf of workflows) expect((await outcome(wf.workflowId)).state).toBe('completed');
  await recordHistory('success', workflows.find((w) => w.typedSearchAttributes.get(SA.job) === 'notify_agents')!.workflowId);
  const agents = await orgUsers('Acme', 'agent');
  expect(agents).toEqual(['alice.agent@acme.test']);
  const mails = await sink.waitFor((all) => all.filter((m) => m.subject === 'New ticket: Printer on fire').length >= agents.length, 10000);
  const delivered = mails
    .filter((m) => m.subject === 'New ticket: Printer on fire')
    .flatMap((m) => m.to)
    .sort();
  expect(delivered).toEqual(agents);
  expect(delivered).not.toEqual(expect.arrayContaining(await orgUsers('Globex', 'agent')));

  expect((await db.pool.query('SELECT count(*)::int AS n FROM activity_logs')).rows[0].n).toBe(0);
});

test('an update mails the author; a comment mails every member of the ticket’s organization', async () => {
  const ticket = await createTicket('Globex', 'Login broken');
  const updated = await pipeline.client.withTransaction(db.pool, async (tx, emit) => {
    const {
      rows: [t],
    } = await tx.query(`UPDATE tickets SET status = 'closed', updated_at = now() WHERE id = $1 RETURNING *`, [ticket.id]);
    emit('Ticket', 'update', t);
    return t;
  });
  const comment = await pipeline.client.withTransaction(db.pool, async (tx, emit) => {
    const {
      rows: [c],
    } = await tx.query('INSERT INTO comments (ticket_id, author_id, body) VALUES ($1, $2, $3) RETURNING *', [
      ticket.id,
      ticket.author_id,
      'Any news?',
    ]);
    emit('Comment', 'create', c);
    return c;
  });
  const {
    rows: [author],
  } = await db.pool.query('SELECT email FROM users WHERE id = $1', [updated.author_id]);
  const members = await orgUsers('Globex');
  expect(members).toEqual(['gary.agent@globex.test']);
  await sink.waitFor((all) => all.some((m) => m.to.includes(author.email) && /updated/i.test(m.subject ?? '')), 15000);
  // No template here: the default body names the entity, the operation and the comment's id, not its columns.
  const aboutComment = (m: { text?: string }) => m.text === `Comment create (job notify_ticket_participants)\n\nid: ${comment.id}\n`;
  const commentMails = await sink.waitFor((all) => all.filter(aboutComment).length >= members.length, 15000);
  expect(
    commentMails
      .filter(aboutComment)
      .flatMap((m) => m.to)
      .sort(),
  ).toEqual(members);
  expect(commentMails.some((m) => m.text?.includes('Any news?'))).toBe(false);
});

test('the same event twice starts one workflow; a rollback starts nothing', async () => {
  const {
    rows: [org],
  } = await db.pool.query(`SELECT id FROM organizations WHERE name = 'Acme'`);
  const {
    rows: [t],
  } = await db.pool.query(
    `INSERT INTO tickets (subject, description, org_id, author_id, assignee_id, tags_id)
     SELECT $1, $2, $3, author_id, assignee_id, tags_id FROM tickets WHERE org_id = $3 LIMIT 1 RETURNING *`,
    ['Twice', 'x', org.id],
  );
  const first = await pipeline.client.afterCommit('Ticket', 'create', t);
  const second = await pipeline.client.afterCommit('Ticket', 'create', t);
  expect(second).toEqual(first);
  expect(first).toHaveLength(1);
  await Promise.all(first.map((s) => outcome(s.workflowId)));
  const count = await eventually(async () => {
    const n = (await (await temporal()).workflow.count(`ForgeRecordId = "${t.id}"`)).count;
    return n >= 1 && n;
  });
  expect(count).toBe(1);

  const matchedBefore = pipeline.logs.filter((r) => r.event === 'hook.matched').length;
  await expect(
    pipeline.client.withTransaction(db.pool, async (tx, emit) => {
      const {
        rows: [r],
      } = await tx.query(
        `INSERT INTO tickets (subject, description, org_id, author_id, assignee_id, tags_id)
         SELECT $1, $2, $3, author_id, assignee_id, tags_id FROM tickets WHERE org_id = $3 LIMIT 1 RETURNING *`,
        ['Rolled back', 'x', org.id],
      );
      emit('Ticket', 'create', r);
      throw new Error('app failed after insert');
    }),
  ).rejects.toThrow('app failed after insert');
  expect((await db.pool.query(`SELECT count(*)::int AS n FROM tickets WHERE subject = 'Rolled back'`)).rows[0].n).toBe(0);
  expect(pipeline.logs.filter((r) => r.event === 'hook.matched')).toHaveLength(matchedBefore);
});

test('events with no after hook start nothing, and a Temporal outage never throws into the caller', async () => {
  expect(await pipeline.client.afterCommit('Tag', 'create', { id: 'x' })).toEqual([]);
  expect(await pipeline.client.afterCommit('Ticket', 'delete', { id: 'x' })).toEqual([]);

  const { createJobClient } = await import('../../src');
  const { createMemoryLogger } = await import('../../src/log');
  const logger = createMemoryLogger();
  const down = createJobClient({ artifact: join(HELPDESK, 'artifact.json'), temporal: { address: '127.0.0.1:1' }, logger });
  await expect(down.afterCommit('Ticket', 'create', { id: 'y', subject: 's' })).resolves.toEqual([]);
  // No database to hold the event for the relay: said loudly.
  expect(logger.records.find((r) => r.event === 'hook.start_lost')).toMatchObject({
    level: 'error',
    entity: 'Ticket',
    workflow_ids: expect.arrayContaining([expect.stringContaining('/y/')]),
  });
  await down.close();
});
