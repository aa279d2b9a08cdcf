import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { applyRelationOverrides, ArtifactError, loadArtifact } from '../../../src/artifact';
import { resolveArtifact } from '../../../src/artifact/configured';
import { defaultRuntimeConfig } from '../../../src/config';
import { artifact } from '../../support/artifact-builder';
import type { Json } from '../../support/artifacts';

const COMPILED_PATH = join(__dirname, '../../../examples/helpdesk/artifact.json');
const compiledJson = (): Json => JSON.parse(readFileSync(COMPILED_PATH, 'utf8'));

describe('the compiler’s helpdesk, decided by its migration', () => {
  const loaded = loadArtifact(COMPILED_PATH);

  test('many relations whose foreign_key column is on the source table are followed source → target, with a warning', () => {
    expect(loaded.entities.Organization.relations.members).toMatchObject({
      is_many: true,
      foreign_key: 'members_id',
      storage: 'migration',
    });
    expect(loaded.entities.Organization.relations.members).not.toHaveProperty('inverse_key');
    expect(loaded.entities.Ticket.relations.tags).toMatchObject({ is_many: true, foreign_key: 'tags_id', storage: 'migration' });
    expect(loaded.warnings).toEqual(
      expect.arrayContaining([
        'entities.Organization.relations.members: many relation stored as organizations.members_id (from the migration): it holds one User per Organization row',
        'entities.Ticket.relations.tags: many relation stored as tickets.tags_id (from the migration): it holds one Tag per Ticket row',
      ]),
    );
    expect(loaded.jobs.notify_agents.needs[0].hops[1].relation).toBe(loaded.entities.Organization.relations.members);
  });

  test('single relations keep the artifact’s foreign_key, found in the migration', () => {
    expect(loaded.entities.Ticket.relations.org).toMatchObject({ foreign_key: 'org_id', storage: 'artifact' });
    expect(loaded.entities.Ticket.relations.org.missing).toBeUndefined();
  });

  test('entity.create jobs whose table needs columns they do not map are refused at load, with the reason', () => {
    expect(Object.keys(loaded.jobs).sort()).toEqual(['notify_agents', 'notify_author', 'notify_ticket_participants']);
    expect(loaded.refused).toEqual({
      log_ticket_created: expect.stringMatching(
        /^refused: table activity_logs needs entity_id, org_id \(NOT NULL without a default in the artifact's migration\)/,
      ),
      log_ticket_updated: expect.stringMatching(/^refused: table activity_logs needs entity_id, org_id/),
    });
    expect(loaded.hooks.flatMap((h) => h.jobs).sort()).toEqual(['notify_agents', 'notify_author', 'notify_ticket_participants']);
    expect(loaded.warnings).toContain(`jobs.log_ticket_created: ${loaded.refused!.log_ticket_created}`);
  });

  test('a job that fills every required column runs, and a mapped column the table lacks is left out of the insert', () => {
    const json = compiledJson();
    Object.assign(json.jobs.log_ticket_created.field_mappings, { entity_id: 'data.id', org_id: 'data.org_id' });
    const a = loadArtifact(json);
    expect(a.jobs.log_ticket_created.field_mappings).toEqual({
      description: 'data.subject',
      entity_type: '"Ticket"',
      entity_id: 'data.id',
      org_id: 'data.org_id',
    });
    expect(a.warnings).toContain(
      `jobs.log_ticket_created.field_mappings.action: table activity_logs has no column "action" in the artifact's migration; the insert leaves it out`,
    );
    expect(a.refused).toEqual({ log_ticket_updated: expect.any(String) });
    expect(a.hooks.find((h) => h.operation === 'create')!.jobs).toEqual(['notify_agents', 'log_ticket_created']);
  });

  test('[relations] in the config wins over the migration, and the migration’s warning goes with it', () => {
    const through = { table: 'organization_members', source_key: 'organization_id', target_key: 'user_id' };
    const a = applyRelationOverrides(loaded, { 'Organization.members': { through } });
    expect(a.entities.Organization.relations.members).toMatchObject({ through, storage: 'config' });
    expect(a.entities.Organization.relations.members).not.toHaveProperty('foreign_key');
    expect(a.warnings.filter((w) => w.startsWith('entities.Organization.relations.members'))).toEqual([]);
    expect(a.warnings).toContain(
      'entities.Ticket.relations.tags: many relation stored as tickets.tags_id (from the migration): it holds one Tag per Ticket row',
    );
    expect(a.refused).toEqual(loaded.refused);
  });

  test('inverse_key written in the artifact wins over the migration', () => {
    const json = compiledJson();
    json.entities.Organization.relations.members.inverse_key = 'org_ref';
    expect(loadArtifact(json).entities.Organization.relations.members).toMatchObject({ inverse_key: 'org_ref', storage: 'artifact' });
  });
});

describe('storage the migration does not give', () => {
  const base = () =>
    artifact()
      .entity('Team', 'teams', ['name'])
      .entity('Person', 'people', ['email'])
      .many('Team', 'members', 'Person')
      .job('ping', 'Team', 'Team.members')
      .hook('Team', 'create', ['ping']);
  const tables = ['CREATE TABLE teams (id uuid PRIMARY KEY);', 'CREATE TABLE people (id uuid PRIMARY KEY, email text);'];

  test('nothing links the tables: a warning at load, an error naming the relation where the config cannot help any more', () => {
    const json = base().compiled({ migration: tables });
    const loaded = loadArtifact(json);
    const problem =
      'jobs.ping.needs_path: relation Team.members: no storage found in the migration: no column members_id on teams, ' +
      'no column team_id (or referencing teams) on people, no table with keys to both teams and people; declare its storage under [relations."Team.members"] in forge.runtime.toml';
    expect(loaded.warnings).toContain(problem);
    expect(() => resolveArtifact(json, defaultRuntimeConfig())).toThrow(ArtifactError);
    expect(() => resolveArtifact(loaded, defaultRuntimeConfig())).toThrow(problem);
    const config = { ...defaultRuntimeConfig(), relations: { 'Team.members': { inverse_key: 'team_id' } } };
    expect(resolveArtifact(loaded, config).entities.Team.relations.members).toMatchObject({ inverse_key: 'team_id', storage: 'config' });
  });

  test('two join tables are ambiguous, and said so', () => {
    const join = (t: string) => `CREATE TABLE ${t} (team uuid REFERENCES teams(id), person uuid REFERENCES people (id));`;
    const loaded = loadArtifact(base().compiled({ migration: [...tables, join('crew'), join('alumni')] }));
    expect(loaded.entities.Team.relations.members.missing).toMatch(/several tables join teams and people \(crew, alumni\)/);
  });

  test('a relation no job needs may lack storage without refusing anything', () => {
    const json = base().compiled({ migration: tables });
    json.jobs = {};
    json.hooks = [];
    expect(() => resolveArtifact(json, defaultRuntimeConfig())).not.toThrow();
  });

  test('tables the migration does not create fall to the convention', () => {
    const loaded = loadArtifact(base().compiled({ migration: ['CREATE TABLE unrelated (id int);'] }));
    expect(loaded.entities.Team.relations.members).toMatchObject({ inverse_key: 'team_id', storage: 'convention' });
  });
});
