import { applyRelationOverrides, ArtifactError, loadArtifact } from '../../../src/artifact';
import type { Artifact, ArtifactProblem } from '../../../src/artifact';
import type { RelationOverride } from '../../../src/config/types';
import { HELPDESK_PATH, TRACKER_PATH } from '../../support/artifacts';

const MEMBERS_THROUGH = { table: 'organization_members', source_key: 'organization_id', target_key: 'user_id' };

function overrideProblems(artifact: Artifact, overrides: Record<string, unknown>): ArtifactProblem[] {
  const apply = () => applyRelationOverrides(artifact, overrides as Record<string, RelationOverride>);
  expect(apply).toThrow(ArtifactError);
  try {
    apply();
  } catch (err) {
    return (err as ArtifactError).problems;
  }
  throw new Error('unreachable');
}

describe('applyRelationOverrides', () => {
  const helpdesk = loadArtifact(HELPDESK_PATH);

  test('through replaces the default inverse_key, in entities and in job hops', () => {
    const before = JSON.stringify(helpdesk);
    const result = applyRelationOverrides(helpdesk, { 'Organization.members': { through: MEMBERS_THROUGH } });
    const expected = {
      name: 'members',
      target: 'User',
      target_table: 'users',
      is_many: true,
      through: MEMBERS_THROUGH,
      storage: 'config',
      declared: { foreign_key: 'members_id' },
    };
    expect(result.entities.Organization.relations.members).toEqual(expected);
    expect(result.jobs.notify_agents.needs[0].hops[1].relation).toEqual(expected);
    expect(result.jobs.notify_ticket_participants.needs[0].hops[2].relation).toEqual(expected);
    // untouched relations and the rest of the job stay as they were
    expect(result.jobs.notify_agents.needs[0].hops[0]).toEqual(helpdesk.jobs.notify_agents.needs[0].hops[0]);
    expect(result.jobs.notify_agents.filter).toEqual(helpdesk.jobs.notify_agents.filter);
    expect(result.hooks).toEqual(helpdesk.hooks);
    expect(result.warnings).toEqual(helpdesk.warnings);
    // the input artifact is not changed
    expect(JSON.stringify(helpdesk)).toBe(before);
    expect(helpdesk.entities.Organization.relations.members.inverse_key).toBe('organization_id');
  });

  test('several overrides at once; inverse_key replaces an artifact through', () => {
    const tracker = loadArtifact(TRACKER_PATH);
    const result = applyRelationOverrides(tracker, {
      'Project.people': { inverse_key: 'project_id' },
      'Task.reporter': { foreign_key: 'created_by' },
      'Task.watchers': { through: { table: 'task_watchers', source_key: 'task_id', target_key: 'person_id' } },
    });
    expect(result.entities.Project.relations.people).toMatchObject({
      name: 'people',
      target: 'Person',
      target_table: 'people',
      is_many: true,
      inverse_key: 'project_id',
      storage: 'config',
    });
    expect(result.entities.Project.relations.people).not.toHaveProperty('through');
    expect(result.entities.Task.relations.reporter.foreign_key).toBe('created_by');
    expect(result.entities.Task.relations.watchers).not.toHaveProperty('inverse_key');
    expect(result.jobs.ping_maintainers.needs[0].hops[1].relation.inverse_key).toBe('project_id');
    expect(result.jobs.ping_everyone.needs[1].hops[0].relation.foreign_key).toBe('created_by');
    expect(result.jobs.ping_everyone.needs[2].hops[0].relation.through?.table).toBe('task_watchers');
  });

  test('no overrides give an equal, separate artifact', () => {
    const result = applyRelationOverrides(helpdesk, {});
    expect(result).toEqual(helpdesk);
    expect(result).not.toBe(helpdesk);
    expect(result.entities).not.toBe(helpdesk.entities);
  });

  test('hops share the relation objects of the entities they come from', () => {
    const result = applyRelationOverrides(helpdesk, { 'Organization.members': { through: MEMBERS_THROUGH } });
    expect(result.jobs.notify_agents.needs[0].hops[1].relation).toBe(result.entities.Organization.relations.members);
  });

  test.each<[string, Record<string, unknown>, ArtifactProblem[]]>([
    [
      'unknown entity',
      { 'Organisation.members': { through: MEMBERS_THROUGH } },
      [{ path: 'relations."Organisation.members"', message: 'unknown entity "Organisation"' }],
    ],
    [
      'unknown relation',
      { 'Ticket.orgg': { foreign_key: 'org_id' } },
      [{ path: 'relations."Ticket.orgg"', message: 'entity Ticket has no relation "orgg"' }],
    ],
    [
      'key without a dot',
      { members: { inverse_key: 'x' } },
      [{ path: 'relations.members', message: 'expected a key of the form "Entity.relation"' }],
    ],
    [
      'key with two dots',
      { 'Ticket.org.members': { inverse_key: 'x' } },
      [{ path: 'relations."Ticket.org.members"', message: 'expected a key of the form "Entity.relation"' }],
    ],
    [
      'through on a single relation',
      { 'Ticket.org': { through: MEMBERS_THROUGH } },
      [{ path: 'relations."Ticket.org".through', message: 'through applies only to many relations' }],
    ],
    [
      'both inverse_key and through',
      { 'Ticket.tags': { inverse_key: 'ticket_id', through: MEMBERS_THROUGH } },
      [
        {
          path: 'relations."Ticket.tags"',
          message: 'give one of foreign_key (on the source table), inverse_key or through, not inverse_key and through',
        },
      ],
    ],
    [
      'through without source_key',
      { 'Ticket.tags': { through: { table: 'ticket_tags', target_key: 'tag_id' } } },
      [{ path: 'relations."Ticket.tags".through.source_key', message: 'required' }],
    ],
    [
      'override is not a table',
      { 'Ticket.tags': 'ticket_tags' },
      [{ path: 'relations."Ticket.tags"', message: 'expected an object, got string' }],
    ],
    [
      'every problem at once',
      { 'Nope.x': {}, 'Ticket.nope': {}, 'Ticket.org': { inverse_key: 5 } },
      [
        { path: 'relations."Nope.x"', message: 'unknown entity "Nope"' },
        { path: 'relations."Ticket.nope"', message: 'entity Ticket has no relation "nope"' },
        { path: 'relations."Ticket.org".inverse_key', message: 'expected a string, got number' },
      ],
    ],
  ])('%s', (_name, overrides, expected) => {
    expect(overrideProblems(helpdesk, overrides)).toEqual(expected);
  });

  test('foreign_key on a many relation stores it on the source table, with a warning', () => {
    const result = applyRelationOverrides(helpdesk, { 'Ticket.tags': { foreign_key: 'tag_id' } });
    expect(result.entities.Ticket.relations.tags).toMatchObject({ is_many: true, foreign_key: 'tag_id', storage: 'config' });
    expect(result.entities.Ticket.relations.tags).not.toHaveProperty('inverse_key');
    expect(result.warnings).toContain(
      'entities.Ticket.relations.tags: many relation stored as tickets.tag_id (from the config): it holds one Tag per Ticket row',
    );
  });

  test('the error message names the override', () => {
    expect(() => applyRelationOverrides(helpdesk, { 'Ticket.orgg': {} })).toThrow(
      'invalid artifact:\n  relations."Ticket.orgg": entity Ticket has no relation "orgg"',
    );
  });
});
