/**
 * The builder writes the compiler's artifact format: the helpdesk built with it is the compiled helpdesk
 * (examples/helpdesk/artifact.json, the reference) in every key forge-jobs reads, and both load alike.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadArtifact } from '../../../src/artifact';
import { artifact, f, field } from '../../support/artifact-builder';

const REFERENCE = join(__dirname, '..', '..', '..', 'examples', 'helpdesk', 'artifact.json');

/** The keys DESIGN.md says forge-jobs reads, nothing else. */
function readKeys(json: any) {
  const pick = (o: any, keys: string[]) => Object.fromEntries(keys.filter((k) => o[k] !== undefined).map((k) => [k, o[k]]));
  const map = (o: Record<string, any>, fn: (v: any) => unknown) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, fn(v)]));
  return {
    entities: map(json.entities, (e) => ({
      ...pick(e, ['name', 'table']),
      fields: map(e.fields, (x) => pick(x, ['name', 'type', 'sql_type', 'nullable', 'enum_values'])),
      relations: map(e.relations, (r) => pick(r, ['name', 'target', 'target_table', 'foreign_key', 'is_many', 'inverse_key', 'through'])),
    })),
    jobs: map(json.jobs, (j) =>
      pick(j, ['name', 'input_entity', 'needs_path', 'needs_filter', 'capabilities', 'target_entity', 'field_mappings']),
    ),
    hooks: json.hooks.map((h: any) => pick(h, ['entity', 'timing', 'operation', 'jobs'])),
  };
}

const stamps = [field.uuid('id'), field.time('created_at'), field.time('updated_at')];

function helpdesk() {
  return artifact()
    .entity('ActivityLog', 'activity_logs', [...stamps, field.text('description'), field.text('entity_id'), field.text('entity_type')])
    .entity('Comment', 'comments', [...stamps, field.text('body'), field.bool('internal')])
    .entity('Organization', 'organizations', [
      ...stamps,
      field.text('name'),
      field.enum('plan', ['free', 'pro', 'enterprise']),
      field.text('slug'),
    ])
    .entity('Tag', 'tags', [...stamps, field.text('color'), field.text('name')])
    .entity('Ticket', 'tickets', [
      ...stamps,
      field.text('description'),
      field.enum('priority', ['low', 'medium', 'high', 'urgent']),
      field.enum('status', ['open', 'pending', 'in_progress', 'resolved', 'closed']),
      field.text('subject'),
    ])
    .entity('User', 'users', [
      ...stamps,
      field.text('avatar_url'),
      field.text('email'),
      field.text('name'),
      field.enum('role', ['admin', 'agent', 'customer']),
    ])
    .single('ActivityLog', 'org', 'Organization')
    .single('Comment', 'author', 'User')
    .single('Comment', 'ticket', 'Ticket')
    .many('Organization', 'members', 'User')
    .single('Organization', 'owner', 'User')
    .single('Ticket', 'assignee', 'User')
    .single('Ticket', 'author', 'User')
    .single('Ticket', 'org', 'Organization')
    .many('Ticket', 'tags', 'Tag')
    .creates('log_ticket_created', 'Ticket', 'ActivityLog', {
      action: '"ticket_created"',
      description: 'data.subject',
      entity_type: '"Ticket"',
    })
    .creates('log_ticket_updated', 'Ticket', 'ActivityLog', {
      action: '"ticket_updated"',
      description: 'data.subject',
      entity_type: '"Ticket"',
    })
    .job('notify_agents', 'Ticket', 'Ticket.org.members', { filter: '(role == agent)' })
    .job('notify_author', 'Ticket', 'Ticket.author')
    .job('notify_ticket_participants', 'Comment', 'Comment.ticket.org.members')
    .hook('Ticket', 'create', ['notify_agents', 'log_ticket_created'])
    .hook('Ticket', 'update', ['notify_author', 'log_ticket_updated'])
    .hook('Comment', 'create', ['notify_ticket_participants']);
}

test('the helpdesk built with the builder is the compiled helpdesk in every key forge-jobs reads', () => {
  const reference = JSON.parse(readFileSync(REFERENCE, 'utf8'));
  expect(readKeys(helpdesk().compiled())).toEqual(readKeys(reference));
});

test('it loads as the compiled helpdesk does, warnings included', () => {
  const reference = JSON.parse(readFileSync(REFERENCE, 'utf8'));
  delete reference.migration; // the builder writes a migration only when given one
  const built = loadArtifact(helpdesk().compiled());
  const loaded = loadArtifact(reference);
  expect(built.jobs).toEqual(loaded.jobs);
  expect(built.entities).toEqual(loaded.entities);
  expect(built.hooks).toEqual(loaded.hooks);
  expect(built.warnings).toEqual(loaded.warnings);
});

test('build() gives what loading compiled() gives, for typed fields, filters, creates and hooks', () => {
  const b = artifact()
    .entity('Team', 'teams', ['name'])
    .entity('User', 'users', [field.text('email'), field.enum('role', ['agent', 'customer']), field.int('age', { nullable: true })])
    .entity('Audit', 'audits', ['what', 'note'])
    .many('Team', 'members', 'User', 'team_id')
    .job('mail', 'Team', 'Team.members', f.and(f.eq('role', 'agent'), f.gt('age', 30)))
    .job('raw', 'Team', 'Team.members', { filter: "(role == 'agent')", capabilities: ['email.send', 'http.post'] })
    .creates('audit', 'Team', 'Audit', { what: '"team"', note: 'data.name' })
    .hook('Team', 'create', ['mail', 'raw', 'audit'])
    .hook('Team', 'delete', ['mail'], 'before');
  const loaded = loadArtifact(b.compiled());
  const built = b.build();
  expect(loaded.hooks).toEqual(built.hooks);
  for (const name of ['mail', 'raw', 'audit']) {
    const { needs, ...rest } = built.jobs[name];
    const { needs: loadedNeeds, ...loadedRest } = loaded.jobs[name];
    expect(loadedRest).toEqual(expect.objectContaining(rest));
    expect(loadedNeeds.map((n) => [n.text, n.targetEntity, n.hops.map((h) => h.relation.name)])).toEqual(
      needs.map((n) => [n.text, n.targetEntity, n.hops.map((h) => h.relation.name)]),
    );
  }
  expect(loaded.entities.User.fields.role).toEqual(built.entities.User.fields.role);
  expect(loaded.entities.User.fields.age).toEqual({ name: 'age', type: 'int', sql_type: 'integer', nullable: true });
});

test('compiled() writes a job as the compiler does: no needs keys without needs, the filter text as given', () => {
  const json = artifact()
    .entity('Note', 'notes', ['body'])
    .entity('Log', 'logs', ['what'])
    .creates('log', 'Note', 'Log', { what: 'data.body' })
    .job('mail', 'Note', 'Note', { filter: '(body != "x")' })
    .compiled() as any;
  expect(json.jobs.log).toEqual({
    name: 'log',
    input_entity: 'Note',
    capabilities: ['entity.create'],
    target_entity: 'Log',
    field_mappings: { what: 'data.body' },
  });
  expect(json.jobs.mail).toEqual({
    name: 'mail',
    input_entity: 'Note',
    needs_path: 'Note',
    needs_filter: '(body != "x")',
    capabilities: ['email.send'],
  });
  expect(json.entities.Note.fields).toEqual({ body: { name: 'body', type: 'string', sql_type: 'text', nullable: true } });
});
