import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactError, loadArtifact, snakeCase } from '../../../src/artifact';
import { CAPABILITIES } from '../../../src/names';
import { helpdeskJson, HELPDESK_PATH, problemsOf, TRACKER_PATH, type Json } from '../../support/artifacts';

describe('the helpdesk artifact', () => {
  const artifact = loadArtifact(HELPDESK_PATH);

  test('loads with its entities, jobs and hooks', () => {
    expect(Object.keys(artifact.entities).sort()).toEqual(['ActivityLog', 'Comment', 'Organization', 'Tag', 'Ticket', 'User']);
    expect(Object.keys(artifact.jobs).sort()).toEqual([
      'log_ticket_created',
      'log_ticket_updated',
      'notify_agents',
      'notify_author',
      'notify_ticket_participants',
    ]);
    expect(artifact.hooks).toEqual([
      { entity: 'Ticket', timing: 'after', operation: 'create', jobs: ['notify_agents', 'log_ticket_created'] },
      { entity: 'Ticket', timing: 'after', operation: 'update', jobs: ['notify_author', 'log_ticket_updated'] },
      { entity: 'Comment', timing: 'after', operation: 'create', jobs: ['notify_ticket_participants'] },
    ]);
  });

  test('ignores the keys forge-jobs does not read', () => {
    expect(Object.keys(artifact).sort()).toEqual(['entities', 'hooks', 'jobs', 'warnings']);
    expect(artifact.entities.User.fields.email).toEqual({ name: 'email', type: 'string', sql_type: 'text', nullable: false });
    expect(artifact.entities.Ticket.relations.org).not.toHaveProperty('on_delete');
  });

  test('keeps enum fields with their values', () => {
    expect(artifact.entities.User.fields.role).toEqual({
      name: 'role',
      type: 'enum',
      sql_type: 'enum',
      nullable: false,
      enum_values: ['admin', 'agent', 'customer'],
    });
  });

  test('notify_agents walks Ticket.org (single) then members (many), filtered on role', () => {
    const job = artifact.jobs.notify_agents;
    expect(job.needs).toMatchObject([
      {
        text: 'Ticket.org.members',
        targetEntity: 'User',
        hops: [
          {
            from: 'Ticket',
            relation: {
              name: 'org',
              target: 'Organization',
              target_table: 'organizations',
              is_many: false,
              foreign_key: 'org_id',
              storage: 'artifact',
            },
          },
          {
            from: 'Organization',
            relation: {
              name: 'members',
              target: 'User',
              target_table: 'users',
              is_many: true,
              inverse_key: 'organization_id',
              storage: 'convention',
            },
          },
        ],
      },
    ]);
    expect(job.needs_filter).toBe('(role == agent)');
    expect(job.filter).toEqual({ kind: 'cmp', field: 'role', op: '==', value: 'agent' });
    expect(job.capabilities).toEqual(['email.send']);
  });

  test("without a migration, the compiler's foreign_key of a many relation is not its storage", () => {
    const members = artifact.entities.Organization.relations.members;
    expect(members.foreign_key).toBeUndefined();
    expect(members.inverse_key).toBe('organization_id');
    expect(artifact.entities.Ticket.relations.tags.inverse_key).toBe('ticket_id');
  });

  test('notify_author and notify_ticket_participants', () => {
    expect(artifact.jobs.notify_author.needs.map((n) => [n.text, n.targetEntity, n.hops.map((h) => h.relation.name)])).toEqual([
      ['Ticket.author', 'User', ['author']],
    ]);
    expect(artifact.jobs.notify_author.filter).toBeUndefined();
    expect(artifact.jobs.notify_author.needs_filter).toBeUndefined();
    const participants = artifact.jobs.notify_ticket_participants.needs[0];
    expect(participants.hops.map((h) => `${h.from}.${h.relation.name}`)).toEqual(['Comment.ticket', 'Ticket.org', 'Organization.members']);
    expect(participants.targetEntity).toBe('User');
  });

  test('entity.create jobs target ActivityLog from the trigger record', () => {
    const job = artifact.jobs.log_ticket_created;
    expect(job.needs).toEqual([{ text: '', hops: [], targetEntity: 'Ticket' }]);
    expect(job.target_entity).toBe('ActivityLog');
    expect(job.field_mappings).toEqual({ action: '"ticket_created"', description: 'data.subject', entity_type: '"Ticket"' });
    expect(artifact.jobs.log_ticket_updated.field_mappings?.action).toBe('"ticket_updated"');
  });

  test('the action mapping, missing from the compiled ActivityLog, is a warning', () => {
    expect(artifact.warnings).toEqual([
      'jobs.log_ticket_created.field_mappings.action: entity ActivityLog has no field "action"',
      'jobs.log_ticket_updated.field_mappings.action: entity ActivityLog has no field "action"',
    ]);
  });

  test('loads the same from a parsed object, and leaves that object as it was', () => {
    const raw = deepFreeze(helpdeskJson());
    const before = JSON.stringify(raw);
    expect(loadArtifact(raw)).toEqual(artifact);
    expect(JSON.stringify(raw)).toBe(before);
  });

  test('the result is plain JSON, so it can travel in workflow input', () => {
    expect(JSON.parse(JSON.stringify(artifact))).toEqual(artifact);
  });
});

describe('a compiled project-tracker artifact', () => {
  const artifact = loadArtifact(TRACKER_PATH);

  test('loads, with through and inverse_key extensions kept', () => {
    const people = artifact.entities.Project.relations.people;
    expect(people).toMatchObject({
      name: 'people',
      target: 'Person',
      target_table: 'people',
      is_many: true,
      through: { table: 'project_people', source_key: 'project_id', target_key: 'person_id' },
    });
    expect(artifact.entities.Task.relations.watchers.inverse_key).toBe('watched_task_id');
    expect(artifact.entities.Task.relations.subtasks.inverse_key).toBe('task_id');
    expect(artifact.entities.Project.relations.lead.foreign_key).toBe('lead_person_id');
    expect(artifact.entities.Task.relations.project.target_table).toBe('tracker.projects');
  });

  test('parses a CEL-style filter with negation', () => {
    const job = artifact.jobs.ping_maintainers;
    expect(job.needs[0].hops.map((h) => h.relation.name)).toEqual(['project', 'people']);
    expect(job.filter?.kind).toBe('and');
    expect(job.capabilities).toEqual(['email.send', 'http.post']);
  });

  test('several paths, written with and without the entity name, in needs_path and needs', () => {
    const job = artifact.jobs.ping_everyone;
    expect(job.needs.map((n) => [n.text, n.targetEntity])).toEqual([
      ['project.lead', 'Person'],
      ['Task.reporter', 'Person'],
      ['watchers', 'Person'],
    ]);
    expect(job.filter).toEqual({
      kind: 'or',
      left: { kind: 'cmp', field: 'seniority', op: '>=', value: 2 },
      right: { kind: 'in', field: 'kind', values: ['owner', 'maintainer'] },
    });
  });

  test('a self-relation, a negative number and an escaped quote', () => {
    const job = artifact.jobs.cascade_subtasks;
    expect(job.needs[0]).toMatchObject({ text: 'subtasks', targetEntity: 'Task' });
    expect(job.filter).toEqual({
      kind: 'and',
      left: { kind: 'cmp', field: 'points', op: '>', value: -1 },
      right: { kind: 'not', expr: { kind: 'cmp', field: 'headline', op: '==', value: "x'y" } },
    });
  });

  test('empty needs_path and needs_filter mean the trigger record, unfiltered', () => {
    const job = artifact.jobs.audit_task;
    expect(job.needs).toEqual([{ text: '', hops: [], targetEntity: 'Task' }]);
    expect(job.filter).toBeUndefined();
    expect(job.field_mappings).toEqual({ verb: '"opened"', subject: 'data.headline', weight: '3', automatic: 'true', note: 'null' });
    expect(artifact.warnings).toEqual([]);
  });

  test('before hooks are kept', () => {
    expect(artifact.hooks.map((h) => `${h.entity}.${h.timing}_${h.operation}`)).toEqual([
      'Task.after_create',
      'Task.after_delete',
      'Task.before_update',
    ]);
  });
});

describe('defaults', () => {
  const minimal = (relations: Json, extra: Json = {}): Json => ({
    entities: {
      ActivityLog: { table: 'activity_logs', fields: {}, relations },
      Organization: { table: 'organizations' },
    },
    ...extra,
  });

  test('single foreign_key is <relation>_id, target_table the target entity table, is_many false', () => {
    const artifact = loadArtifact(minimal({ org: { target: 'Organization' } }));
    expect(artifact.entities.ActivityLog.relations.org).toEqual({
      name: 'org',
      target: 'Organization',
      target_table: 'organizations',
      is_many: false,
      foreign_key: 'org_id',
      storage: 'convention',
      declared: {},
    });
    expect(artifact.entities.Organization).toEqual({ name: 'Organization', table: 'organizations', fields: {}, relations: {} });
    expect(artifact.jobs).toEqual({});
    expect(artifact.hooks).toEqual([]);
  });

  test('many inverse_key is the snake_case source name plus _id', () => {
    const artifact = loadArtifact(minimal({ orgs: { target: 'Organization', is_many: true, foreign_key: 'orgs_id' } }));
    expect(artifact.entities.ActivityLog.relations.orgs).toEqual({
      name: 'orgs',
      target: 'Organization',
      target_table: 'organizations',
      is_many: true,
      inverse_key: 'activity_log_id',
      storage: 'convention',
      declared: { foreign_key: 'orgs_id' },
    });
  });

  test('a job without needs gets the trigger record; an entity.create job without mappings gets {}', () => {
    const artifact = loadArtifact(
      minimal({}, { jobs: { log: { input_entity: 'Organization', capabilities: ['entity.create'], target_entity: 'ActivityLog' } } }),
    );
    expect(artifact.jobs.log).toEqual({
      name: 'log',
      input_entity: 'Organization',
      needs: [{ text: '', hops: [], targetEntity: 'Organization' }],
      capabilities: ['entity.create'],
      target_entity: 'ActivityLog',
      field_mappings: {},
    });
  });

  test.each([
    ['Organization', 'organization'],
    ['ActivityLog', 'activity_log'],
    ['HTTPRequest', 'http_request'],
    ['User2FA', 'user2_fa'],
    ['user', 'user'],
  ])('snakeCase(%s) = %s', (name, snake) => {
    expect(snakeCase(name)).toBe(snake);
  });
});

describe('implicit fields and capabilities', () => {
  test('id, created_at and updated_at may be filtered on and mapped from', () => {
    const raw = helpdeskJson();
    raw.jobs.notify_agents.needs_filter = '(role == agent) && created_at > "2024-01-01" && id != null && updated_at != null';
    raw.jobs.log_ticket_created.field_mappings.description = 'data.id';
    expect(() => loadArtifact(raw)).not.toThrow();
  });

  test('a path of the input entity name alone is the trigger record', () => {
    const raw = helpdeskJson();
    raw.jobs.notify_author.needs_path = 'Ticket';
    expect(loadArtifact(raw).jobs.notify_author.needs).toEqual([{ text: 'Ticket', hops: [], targetEntity: 'Ticket' }]);
  });

  test('the worker may allow more capabilities than the built-in ones', () => {
    const raw = helpdeskJson();
    raw.jobs.notify_author.capabilities = ['sms.send'];
    expect(problemsOf(raw)).toEqual([
      { path: 'jobs.notify_author.capabilities[0]', message: `unknown capability "sms.send" (known: ${CAPABILITIES.join(', ')})` },
    ]);
    expect(loadArtifact(raw, { capabilities: [...CAPABILITIES, 'sms.send'] }).jobs.notify_author.capabilities).toEqual(['sms.send']);
  });
});

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}

describe('reading a file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'forge-artifact-'));

  test('a JSON syntax error is a problem at $ with its position', () => {
    const file = join(dir, 'broken.json');
    writeFileSync(file, '{\n  "entities": {},\n}\n');
    const problems = problemsOf(file);
    expect(problems).toHaveLength(1);
    expect(problems[0].path).toBe('$');
    expect(problems[0].message).toMatch(/^invalid JSON: .*position 20.*line 3, column 1/);
  });

  test('a missing file is a problem at $', () => {
    const problems = problemsOf(join(dir, 'nope.json'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ path: '$', message: expect.stringMatching(/^cannot read .*nope\.json: ENOENT/) });
  });

  test('the error message lists every problem under "invalid artifact:"', () => {
    const raw = helpdeskJson();
    raw.jobs.notify_agents.needs_path = 'Ticket.orgg.members';
    raw.hooks[0].operation = 'insert';
    let error: unknown;
    try {
      loadArtifact(raw);
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(ArtifactError);
    expect((error as Error).message).toBe(
      'invalid artifact:\n  jobs.notify_agents.needs_path: entity Ticket has no relation "orgg"\n  hooks[0].operation: "insert" is not one of create, update, delete',
    );
  });
});

describe('compiler quirks', () => {
  test('an empty enum_values on a field that is not an enum constrains nothing', () => {
    const raw = helpdeskJson();
    raw.entities.User.fields.name.enum_values = [];
    raw.entities.User.fields.email.enum_values = null;
    raw.jobs.notify_agents.needs_filter = '(role == agent) && (name != "x")';
    const artifact = loadArtifact(raw);
    expect(artifact.entities.User.fields.name).not.toHaveProperty('enum_values');
    expect(artifact.entities.User.fields.email).not.toHaveProperty('enum_values');
  });

  test('null where the compiler has nothing to say', () => {
    const raw = helpdeskJson();
    raw.jobs.notify_author.needs_filter = null;
    raw.jobs.notify_author.needs = null;
    raw.entities.Tag.relations = null;
    raw.entities.Tag.fields.name.sql_type = null;
    expect(() => loadArtifact(raw)).not.toThrow();
  });
});
