/**
 * The helpdesk end to end on the real dev server, Postgres and an SMTP server: commit → hooks → one workflow
 * per job → needs → email and entity.create effects.
 */
import { join } from 'node:path';
import { startMailSink } from '../../src/dev/mail-sink';
import { SA } from '../../src/search-attributes';
import type { TestDatabase } from '../helpers/db';
import { HELPDESK, helpdeskDatabase, helpdeskRelations } from '../helpers/helpdesk';
import { eventually, outcome, recordHistory, startPipeline, temporal, testConfig, type Pipeline } from '../helpers/stack';

let db: TestDatabase;
let sink: Awaited<ReturnType<typeof startMailSink>>;
let pipeline: Pipeline;

beforeAll(async () => {
  db = await helpdeskDatabase();
  sink = await startMailSink();
  const config = testConfig('helpdesk', {
    email: { host: '127.0.0.1', port: sink.smtpPort, from: 'helpdesk@forge.test' },
    relations: helpdeskRelations,
    jobs: { notify_agents: { subject: 'New ticket: {{trigger.subject}}' } },
  });
  pipeline = await startPipeline({ artifact: join(HELPDESK, 'artifact.json'), config, pool: db.pool });
});

afterAll(async () => {
  await pipeline?.stop();
  await sink?.close();
  await db?.drop();
});

async function orgUsers(org: string, role?: string): Promise<string[]> {
  const { rows } = await db.pool.query(
    `SELECT u.email FROM users u JOIN organization_members m ON m.user_id = u.id JOIN organizations o ON o.id = m.organization_id
     WHERE o.name = $1 AND ($2::text IS NULL OR u.role::text = $2) ORDER BY u.email`,
    [org, role ?? null],
  );
  return rows.map((r) => r.email);
}

async function createTicket(org: string, subject: string) {
  return pipeline.client.withTransaction(db.pool, async (tx, emit) => {
    const { rows: [o] } = await tx.query('SELECT id FROM organizations WHERE name = $1', [org]);
    const { rows: [author] } = await tx.query(
      `SELECT u.id FROM users u JOIN organization_members m ON m.user_id = u.id WHERE m.organization_id = $1 AND u.role = 'customer' ORDER BY u.email LIMIT 1`,
      [o.id],
    );
    const { rows: [ticket] } = await tx.query('INSERT INTO tickets (subject, body, org_id, author_id) VALUES ($1, $2, $3, $4) RETURNING *', [subject, 'It broke.', o.id, author.id]);
    emit('Ticket', 'create', ticket);
    return ticket;
  });
}

test('a new ticket mails exactly its organization’s agents and logs an ActivityLog row', async () => {
  const ticket = await createTicket('Acme', 'Printer on fire');
  const workflows = await eventually(async () => {
    const list = [];
    for await (const wf of (await temporal()).workflow.list({ query: `ForgeRecordId = "${ticket.id}"` })) list.push(wf);
    return list.length === 2 && list;
  });
  expect(workflows.map((w) => w.typedSearchAttributes.get(SA.job)).sort()).toEqual(['log_ticket_created', 'notify_agents']);

  for (const wf of workflows) expect((await outcome(wf.workflowId)).state).toBe('completed');
  await recordHistory('success', workflows.find((w) => w.typedSearchAttributes.get(SA.job) === 'notify_agents')!.workflowId);
  const agents = await orgUsers('Acme', 'agent');
  expect(agents.length).toBeGreaterThan(0);
  const mails = await sink.waitFor((all) => all.filter((m) => m.subject === 'New ticket: Printer on fire').length >= agents.length, 10000);
  const delivered = mails.filter((m) => m.subject === 'New ticket: Printer on fire').flatMap((m) => m.to).sort();
  expect(delivered).toEqual(agents);
  expect(delivered).not.toEqual(expect.arrayContaining(await orgUsers('Globex', 'agent')));

  const { rows } = await db.pool.query(`SELECT action, description, entity_type FROM activity_logs WHERE description = $1`, ['Printer on fire']);
  expect(rows).toEqual([{ action: 'ticket_created', description: 'Printer on fire', entity_type: 'Ticket' }]);
});

test('an update mails the author; a comment mails every member of the ticket’s organization', async () => {
  const ticket = await createTicket('Globex', 'Login broken');
  const updated = await pipeline.client.withTransaction(db.pool, async (tx, emit) => {
    const { rows: [t] } = await tx.query(`UPDATE tickets SET status = 'closed', updated_at = now() WHERE id = $1 RETURNING *`, [ticket.id]);
    emit('Ticket', 'update', t);
    return t;
  });
  const comment = await pipeline.client.withTransaction(db.pool, async (tx, emit) => {
    const { rows: [c] } = await tx.query('INSERT INTO comments (ticket_id, author_id, body) VALUES ($1, $2, $3) RETURNING *', [ticket.id, ticket.author_id, 'Any news?']);
    emit('Comment', 'create', c);
    return c;
  });
  const { rows: [author] } = await db.pool.query('SELECT email FROM users WHERE id = $1', [updated.author_id]);
  const members = await orgUsers('Globex');
  await sink.waitFor((all) => all.some((m) => m.to.includes(author.email) && /updated/i.test(m.subject ?? '')), 15000);
  // No template here: the default body names the entity, the operation and the comment's id, not its columns.
  const aboutComment = (m: { text?: string }) => m.text === `Comment create (job notify_ticket_participants)\n\nid: ${comment.id}\n`;
  const commentMails = await sink.waitFor((all) => all.filter(aboutComment).length >= members.length, 15000);
  expect(commentMails.filter(aboutComment).flatMap((m) => m.to).sort()).toEqual(members);
  expect(commentMails.some((m) => m.text?.includes('Any news?'))).toBe(false);
});

test('the same event twice starts one workflow; a rollback starts nothing', async () => {
  const { rows: [org] } = await db.pool.query(`SELECT id FROM organizations WHERE name = 'Acme'`);
  const { rows: [t] } = await db.pool.query(
    `INSERT INTO tickets (subject, body, org_id, author_id) SELECT $1, $2, $3, author_id FROM tickets WHERE org_id = $3 LIMIT 1 RETURNING *`,
    ['Twice', 'x', org.id],
  );
  const first = await pipeline.client.afterCommit('Ticket', 'create', t);
  const second = await pipeline.client.afterCommit('Ticket', 'create', t);
  expect(second).toEqual(first);
  expect(first).toHaveLength(2);
  await Promise.all(first.map((s) => outcome(s.workflowId)));
  const count = await eventually(async () => {
    const n = (await (await temporal()).workflow.count(`ForgeRecordId = "${t.id}"`)).count;
    return n >= 2 && n;
  });
  expect(count).toBe(2);

  const matchedBefore = pipeline.logs.filter((r) => r.event === 'hook.matched').length;
  await expect(
    pipeline.client.withTransaction(db.pool, async (tx, emit) => {
      const { rows: [r] } = await tx.query(
        `INSERT INTO tickets (subject, body, org_id, author_id) SELECT $1, $2, $3, author_id FROM tickets WHERE org_id = $3 LIMIT 1 RETURNING *`,
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
  expect(logger.records.find((r) => r.event === 'hook.start_lost')).toMatchObject({ level: 'error', entity: 'Ticket', workflow_ids: expect.arrayContaining([expect.stringContaining('/y/')]) });
  await down.close();
});
