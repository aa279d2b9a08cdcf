import { CAPABILITIES } from '../../../src/names';
import { ArtifactError, loadArtifact } from '../../../src/artifact';
import type { ArtifactProblem } from '../../../src/artifact';
import { compiled, field, artifact as newArtifact } from '../../support/artifact-builder';
import { helpdeskJson, problemsOf, type Json } from '../../support/artifacts';

/** A small valid artifact for cases whose mistake would ripple through the helpdesk's jobs and hooks. */
function tiny(): Json {
  return compiled(
    newArtifact()
      .entity('User', 'users', [field.enum('role', ['agent', 'customer'])])
      .job('ping', 'User', '')
      .hook('User', 'create', ['ping']),
  );
}

const KNOWN = CAPABILITIES.join(', ');
const MAPPING_SYNTAX = 'expected a double-quoted string, data.<field>, a number, true, false or null';

/** Edits change the document in place; those wrapped in `replace` give a new document instead. */
class Replacement {
  constructor(readonly document: unknown) {}
}
const replace = (make: (raw: Json) => unknown) => (raw: Json) => new Replacement(make(raw));

type Case = [name: string, base: () => Json, edit: (raw: Json) => unknown, expected: ArtifactProblem[]];
const one = (path: string, message: string): ArtifactProblem[] => [{ path, message }];

const cases: Case[] = [
  // the document
  ['root is an array', tiny, replace(() => []), one('$', 'expected an object, got array')],
  ['root is null', tiny, replace(() => null), one('$', 'expected an object, got null')],
  ['entities missing', tiny, replace((a) => ({ ...a, entities: undefined, jobs: {}, hooks: [] })), one('entities', 'required')],
  [
    'entities is a string',
    tiny,
    replace((a) => ({ ...a, entities: 'User', jobs: {}, hooks: [] })),
    one('entities', 'expected an object, got string'),
  ],
  [
    'entities.__proto__',
    tiny,
    (a) => (a.entities = JSON.parse('{"__proto__": {"table": "x"}, "User": {"table": "users"}}')),
    one('entities.__proto__', 'reserved name'),
  ],

  // entities and fields
  [
    'entity is a number',
    helpdeskJson,
    (a) => (a.entities.Tag = 5),
    [
      { path: 'entities.Tag', message: 'expected an object, got number' },
      { path: 'entities.Ticket.relations.tags.target', message: 'unknown entity "Tag"' },
    ],
  ],
  ['entity without table', helpdeskJson, (a) => delete a.entities.Tag.table, one('entities.Tag.table', 'required')],
  ['entity with empty table', helpdeskJson, (a) => (a.entities.Tag.table = ' '), one('entities.Tag.table', 'must not be empty')],
  ['entity table is a number', helpdeskJson, (a) => (a.entities.Tag.table = 7), one('entities.Tag.table', 'expected a string, got number')],
  [
    'entity name differs from its key',
    helpdeskJson,
    (a) => (a.entities.Tag.name = 'Label'),
    one('entities.Tag.name', '"Label" does not match its key "Tag"'),
  ],
  ['fields is an array', helpdeskJson, (a) => (a.entities.Tag.fields = []), one('entities.Tag.fields', 'expected an object, got array')],
  [
    'field is a string',
    helpdeskJson,
    (a) => (a.entities.Tag.fields.name = 'text'),
    one('entities.Tag.fields.name', 'expected an object, got string'),
  ],
  ['field without type', helpdeskJson, (a) => delete a.entities.User.fields.email.type, one('entities.User.fields.email.type', 'required')],
  [
    'field nullable is a string',
    helpdeskJson,
    (a) => (a.entities.User.fields.email.nullable = 'yes'),
    one('entities.User.fields.email.nullable', 'expected a boolean, got string'),
  ],
  [
    'enum field without values',
    helpdeskJson,
    (a) => delete a.entities.User.fields.role.enum_values,
    one('entities.User.fields.role.enum_values', 'required for an enum field'),
  ],
  [
    'enum field with no values',
    helpdeskJson,
    (a) => (a.entities.User.fields.role.enum_values = []),
    one('entities.User.fields.role.enum_values', 'an enum field needs at least one value'),
  ],
  [
    'enum value is a number',
    helpdeskJson,
    (a) => (a.entities.User.fields.role.enum_values = ['admin', 3, 'agent']),
    one('entities.User.fields.role.enum_values[1]', 'expected a string, got number'),
  ],

  // relations
  [
    'relations is a string',
    helpdeskJson,
    (a) => (a.entities.ActivityLog.relations = 'org'),
    one('entities.ActivityLog.relations', 'expected an object, got string'),
  ],
  [
    'relation target unknown',
    helpdeskJson,
    (a) => (a.entities.Comment.relations.author.target = 'Person'),
    one('entities.Comment.relations.author.target', 'unknown entity "Person"'),
  ],
  [
    'relation target missing',
    helpdeskJson,
    (a) => delete a.entities.Comment.relations.author.target,
    one('entities.Comment.relations.author.target', 'required'),
  ],
  [
    'relation is_many is a string',
    helpdeskJson,
    (a) => (a.entities.Ticket.relations.tags.is_many = 'yes'),
    one('entities.Ticket.relations.tags.is_many', 'expected a boolean, got string'),
  ],
  [
    'relation foreign_key is a number',
    helpdeskJson,
    (a) => (a.entities.Ticket.relations.author.foreign_key = 1),
    one('entities.Ticket.relations.author.foreign_key', 'expected a string, got number'),
  ],
  [
    'through on a single relation',
    helpdeskJson,
    (a) => (a.entities.Ticket.relations.author.through = { table: 't', source_key: 's', target_key: 'u' }),
    one('entities.Ticket.relations.author.through', 'through applies only to many relations'),
  ],
  [
    'inverse_key on a single relation',
    helpdeskJson,
    (a) => (a.entities.Ticket.relations.author.inverse_key = 'ticket_id'),
    one('entities.Ticket.relations.author.inverse_key', 'inverse_key applies only to many relations'),
  ],
  [
    'through without target_key',
    helpdeskJson,
    (a) => (a.entities.Organization.relations.members.through = { table: 'organization_members', source_key: 'organization_id' }),
    one('entities.Organization.relations.members.through.target_key', 'required'),
  ],
  [
    'through is a string',
    helpdeskJson,
    (a) => (a.entities.Organization.relations.members.through = 'organization_members'),
    one('entities.Organization.relations.members.through', 'expected an object, got string'),
  ],
  [
    'relation name differs from its key',
    helpdeskJson,
    (a) => (a.entities.Ticket.relations.author.name = 'writer'),
    one('entities.Ticket.relations.author.name', '"writer" does not match its key "author"'),
  ],

  // jobs
  ['jobs is an array', tiny, replace((a) => ({ ...a, jobs: [], hooks: [] })), one('jobs', 'expected an object, got array')],
  [
    'job is a string',
    tiny,
    replace((a) => ({ ...a, jobs: { ping: 'email' }, hooks: [] })),
    one('jobs.ping', 'expected an object, got string'),
  ],
  [
    'job name differs from its key',
    helpdeskJson,
    (a) => (a.jobs.notify_author.name = 'notify_writer'),
    one('jobs.notify_author.name', '"notify_writer" does not match its key "notify_author"'),
  ],
  [
    'job without input_entity',
    helpdeskJson,
    (a) => delete a.jobs.notify_author.input_entity,
    one('jobs.notify_author.input_entity', 'required'),
  ],
  [
    'job with unknown input_entity',
    helpdeskJson,
    (a) => (a.jobs.notify_author.input_entity = 'Tickt'),
    one('jobs.notify_author.input_entity', 'unknown entity "Tickt"'),
  ],
  [
    'needs_path with an unknown relation',
    helpdeskJson,
    (a) => (a.jobs.notify_agents.needs_path = 'Ticket.orgg.members'),
    one('jobs.notify_agents.needs_path', 'entity Ticket has no relation "orgg"'),
  ],
  [
    'needs_path with an unknown second hop',
    helpdeskJson,
    (a) => (a.jobs.notify_agents.needs_path = 'Ticket.org.member'),
    one('jobs.notify_agents.needs_path', 'entity Organization has no relation "member"'),
  ],
  [
    'needs_path naming a prototype property',
    helpdeskJson,
    (a) => (a.jobs.notify_author.needs_path = 'Ticket.constructor'),
    one('jobs.notify_author.needs_path', 'entity Ticket has no relation "constructor"'),
  ],
  [
    'needs_path starting at another entity',
    helpdeskJson,
    (a) => (a.jobs.notify_author.needs_path = 'Comment.author'),
    one('jobs.notify_author.needs_path', 'path "Comment.author" starts at entity Comment, but the job\'s input_entity is Ticket'),
  ],
  [
    'needs_path with an empty segment',
    helpdeskJson,
    (a) => (a.jobs.notify_author.needs_path = 'Ticket..author'),
    one('jobs.notify_author.needs_path', 'empty segment in path "Ticket..author"'),
  ],
  [
    'needs_path with an empty item',
    helpdeskJson,
    (a) => (a.jobs.notify_author.needs_path = 'Ticket.author,'),
    one('jobs.notify_author.needs_path', 'empty path in "Ticket.author,"'),
  ],
  [
    'needs_path is a number',
    helpdeskJson,
    (a) => (a.jobs.notify_agents.needs_path = 3),
    one('jobs.notify_agents.needs_path', 'expected a string, got number'),
  ],
  [
    'needs paths reaching different entities',
    helpdeskJson,
    (a) => (a.jobs.notify_author.needs_path = 'Ticket.author, Ticket.org'),
    one(
      'jobs.notify_author.needs_path',
      'all paths of a job must reach the same entity: "Ticket.author" reaches User, "Ticket.org" reaches Organization',
    ),
  ],
  [
    'needs entries reaching different entities',
    helpdeskJson,
    (a) => (a.jobs.notify_author.needs = ['assignee', 'tags']),
    one(
      'jobs.notify_author.needs[1]',
      'all paths of a job must reach the same entity: "Ticket.author" reaches User, "assignee" reaches User, "tags" reaches Tag',
    ),
  ],
  [
    'needs entry is a number',
    helpdeskJson,
    (a) => (a.jobs.notify_author.needs = ['Ticket.assignee', 7]),
    one('jobs.notify_author.needs[1]', 'expected a string, got number'),
  ],
  [
    'needs is a string',
    helpdeskJson,
    (a) => (a.jobs.notify_author.needs = 'Ticket.assignee'),
    one('jobs.notify_author.needs', 'expected an array, got string'),
  ],
  [
    'needs entry with an unknown relation',
    helpdeskJson,
    (a) => (a.jobs.notify_author.needs = ['Ticket.asignee']),
    one('jobs.notify_author.needs[0]', 'entity Ticket has no relation "asignee"'),
  ],

  // filters
  [
    'needs_filter with a syntax error',
    helpdeskJson,
    (a) => (a.jobs.notify_agents.needs_filter = '(role == )'),
    one('jobs.notify_agents.needs_filter', 'syntax error: expected a value, found ")" at column 10'),
  ],
  [
    'needs_filter on an unknown field',
    helpdeskJson,
    (a) => (a.jobs.notify_agents.needs_filter = '(rol == agent)'),
    one('jobs.notify_agents.needs_filter', 'entity User has no field "rol"'),
  ],
  [
    'needs_filter with an unknown enum value',
    helpdeskJson,
    (a) => (a.jobs.notify_agents.needs_filter = '(role == agnt)'),
    one('jobs.notify_agents.needs_filter', '"agnt" is not one of User.role\'s values (admin, agent, customer)'),
  ],
  [
    'needs_filter with an unknown enum value in a list',
    helpdeskJson,
    (a) => (a.jobs.notify_agents.needs_filter = 'role in [agent, boss, 3]'),
    [
      { path: 'jobs.notify_agents.needs_filter', message: '"boss" is not one of User.role\'s values (admin, agent, customer)' },
      { path: 'jobs.notify_agents.needs_filter', message: "3 is not one of User.role's values (admin, agent, customer)" },
    ],
  ],
  [
    'needs_filter checked against the trigger entity when the path is empty',
    helpdeskJson,
    (a) => (a.jobs.log_ticket_created.needs_filter = 'status == done'),
    one('jobs.log_ticket_created.needs_filter', '"done" is not one of Ticket.status\'s values (open, pending, closed)'),
  ],
  [
    'needs_filter is an object',
    helpdeskJson,
    (a) => (a.jobs.notify_agents.needs_filter = { role: 'agent' }),
    one('jobs.notify_agents.needs_filter', 'expected a string, got object'),
  ],

  // capabilities
  [
    'capabilities missing',
    helpdeskJson,
    (a) => delete a.jobs.notify_author.capabilities,
    one('jobs.notify_author.capabilities', 'required'),
  ],
  [
    'capabilities empty',
    helpdeskJson,
    (a) => (a.jobs.notify_author.capabilities = []),
    one('jobs.notify_author.capabilities', 'must list at least one capability'),
  ],
  [
    'capabilities is a string',
    helpdeskJson,
    (a) => (a.jobs.notify_author.capabilities = 'email.send'),
    one('jobs.notify_author.capabilities', 'expected an array, got string'),
  ],
  [
    'unknown capability',
    helpdeskJson,
    (a) => (a.jobs.notify_author.capabilities = ['email.send', 'email.sned']),
    one('jobs.notify_author.capabilities[1]', `unknown capability "email.sned" (known: ${KNOWN})`),
  ],
  [
    'capability is null',
    helpdeskJson,
    (a) => (a.jobs.notify_author.capabilities = [null]),
    one('jobs.notify_author.capabilities[0]', 'expected a string, got null'),
  ],

  // entity.create
  [
    'entity.create without target_entity',
    helpdeskJson,
    (a) => delete a.jobs.log_ticket_created.target_entity,
    one('jobs.log_ticket_created.target_entity', 'required for an entity.create job'),
  ],
  [
    'entity.create with unknown target_entity',
    helpdeskJson,
    (a) => (a.jobs.log_ticket_created.target_entity = 'Activity'),
    one('jobs.log_ticket_created.target_entity', 'unknown entity "Activity"'),
  ],
  [
    'field mapping with an unquoted word',
    helpdeskJson,
    (a) => (a.jobs.log_ticket_created.field_mappings.action = 'ticket_created'),
    one('jobs.log_ticket_created.field_mappings.action', `invalid expression "ticket_created": ${MAPPING_SYNTAX}`),
  ],
  [
    'field mapping with a single-quoted string',
    helpdeskJson,
    (a) => (a.jobs.log_ticket_created.field_mappings.entity_type = "'Ticket'"),
    one('jobs.log_ticket_created.field_mappings.entity_type', `invalid expression "'Ticket'": ${MAPPING_SYNTAX}`),
  ],
  [
    'field mapping from an unknown trigger field',
    helpdeskJson,
    (a) => (a.jobs.log_ticket_created.field_mappings.description = 'data.subjct'),
    one('jobs.log_ticket_created.field_mappings.description', 'entity Ticket has no field "subjct" (in data.subjct)'),
  ],
  [
    'field mapping value is a number',
    helpdeskJson,
    (a) => (a.jobs.log_ticket_created.field_mappings.description = 5),
    one('jobs.log_ticket_created.field_mappings.description', 'expected a string, got number'),
  ],
  [
    'field_mappings is an array',
    helpdeskJson,
    (a) => (a.jobs.log_ticket_updated.field_mappings = ['data.subject']),
    one('jobs.log_ticket_updated.field_mappings', 'expected an object, got array'),
  ],

  // hooks
  ['hooks is an object', helpdeskJson, (a) => (a.hooks = {}), one('hooks', 'expected an array, got object')],
  ['hook is a string', helpdeskJson, (a) => (a.hooks[1] = 'Ticket.after_update'), one('hooks[1]', 'expected an object, got string')],
  ['hook on an unknown entity', helpdeskJson, (a) => (a.hooks[0].entity = 'Tickets'), one('hooks[0].entity', 'unknown entity "Tickets"')],
  [
    'hook with an unknown operation',
    helpdeskJson,
    (a) => (a.hooks[0].operation = 'insert'),
    one('hooks[0].operation', '"insert" is not one of create, update, delete'),
  ],
  [
    'hook with an unknown timing',
    helpdeskJson,
    (a) => (a.hooks[0].timing = 'during'),
    one('hooks[0].timing', '"during" is not one of before, after'),
  ],
  ['hook without timing', helpdeskJson, (a) => delete a.hooks[2].timing, one('hooks[2].timing', 'required')],
  [
    'hook with an unknown job',
    helpdeskJson,
    (a) => (a.hooks[0].jobs = ['notify_agents', 'notify_agent']),
    one('hooks[0].jobs[1]', 'unknown job "notify_agent"'),
  ],
  [
    'hook with a job for another entity',
    helpdeskJson,
    (a) => a.hooks[2].jobs.push('notify_agents'),
    one('hooks[2].jobs[1]', 'job notify_agents takes Ticket records, but the hook is on Comment'),
  ],
  [
    'hook job is a number, the next unknown',
    helpdeskJson,
    (a) => (a.hooks[2].jobs = [5, 'ghost']),
    [
      { path: 'hooks[2].jobs[0]', message: 'expected a string, got number' },
      { path: 'hooks[2].jobs[1]', message: 'unknown job "ghost"' },
    ],
  ],
  [
    'hook jobs is a string',
    helpdeskJson,
    (a) => (a.hooks[2].jobs = 'notify_ticket_participants'),
    one('hooks[2].jobs', 'expected an array, got string'),
  ],
];

describe('malformed artifacts', () => {
  test.each(cases)('%s', (_name, base, edit, expected) => {
    const raw = base();
    const edited = edit(raw);
    const input = edited instanceof Replacement ? edited.document : raw;
    expect(problemsOf(input as object)).toEqual(expected);
  });

  test('there are at least 25 of them', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });
});

describe('several problems at once', () => {
  test('every problem is reported, in document order', () => {
    const raw = helpdeskJson();
    raw.entities.Tag.table = 3;
    raw.entities.User.fields.role.enum_values = ['admin', 'agent'];
    raw.jobs.notify_agents.needs_path = 'Ticket.orgg.members';
    raw.jobs.notify_author.needs_filter = '(role == customer)';
    raw.jobs.notify_ticket_participants.capabilities = ['email.sendd'];
    raw.jobs.log_ticket_created.field_mappings.description = 'data.nope';
    raw.hooks[1].timing = 'later';
    raw.hooks[2].jobs = ['ghost'];
    expect(problemsOf(raw)).toEqual([
      { path: 'entities.Tag.table', message: 'expected a string, got number' },
      { path: 'jobs.notify_agents.needs_path', message: 'entity Ticket has no relation "orgg"' },
      { path: 'jobs.notify_author.needs_filter', message: '"customer" is not one of User.role\'s values (admin, agent)' },
      { path: 'jobs.notify_ticket_participants.capabilities[0]', message: `unknown capability "email.sendd" (known: ${KNOWN})` },
      { path: 'jobs.log_ticket_created.field_mappings.description', message: 'entity Ticket has no field "nope" (in data.nope)' },
      { path: 'hooks[1].timing', message: '"later" is not one of before, after' },
      { path: 'hooks[2].jobs[0]', message: 'unknown job "ghost"' },
    ]);
  });

  test('never crashes on values of the wrong type anywhere', () => {
    const junk: unknown[] = [null, 0, 'x', true, [], {}, [null], { a: null }];
    const raw = helpdeskJson();
    const slots: [Json, string][] = [
      [raw, 'entities'],
      [raw.entities, 'User'],
      [raw.entities.User, 'fields'],
      [raw.entities.User.fields, 'role'],
      [raw.entities.Ticket, 'relations'],
      [raw.entities.Ticket.relations, 'org'],
      [raw, 'jobs'],
      [raw.jobs, 'notify_agents'],
      [raw.jobs.log_ticket_created, 'field_mappings'],
      [raw, 'hooks'],
      [raw.hooks, '0'],
      [raw.hooks[0], 'jobs'],
    ];
    for (const [parent, key] of slots) {
      for (const value of junk) {
        const copy = helpdeskJson();
        const target = slotIn(copy, raw, parent);
        target[key] = value;
        // junk may be refused or, where it means "nothing", accepted; anything else is a crash
        try {
          loadArtifact(copy);
        } catch (err) {
          expect(err).toBeInstanceOf(ArtifactError);
        }
      }
    }
  });
});

/** The object in `copy` at the place `parent` has in `original`. */
function slotIn(copy: Json, original: Json, parent: Json): Json {
  const walk = (a: Json, b: Json): Json | undefined => {
    if (b === parent) return a;
    if (typeof b !== 'object' || b === null) return undefined;
    for (const k of Object.keys(b)) {
      const found = walk(a[k], b[k]);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return walk(copy, original);
}
