/**
 * Relation storage as an application's own database holds it, through the public API on the real dev
 * server: for each shape the schema is created from the artifact's migration (or by hand, for the
 * catalog), a worker starts with no relation override unless the shape is the override, a committed Post
 * mails its team's members, and `forge-jobs explain` prints the storage each hop followed.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ArtifactError } from '../../../src';
import { explainCommand } from '../../../src/cli/explain';
import { startMailSink } from '../../../src/dev/mail-sink';
import { artifact } from '../../support/artifact-builder';
import { createTestDatabase, type TestDatabase } from '../../support/db';
import { outcome, startTestStack, testConfig, type TestStack } from '../../support/stack';

const RED = '10000000-0000-4000-8000-000000000001';
const BLUE = '10000000-0000-4000-8000-000000000002';
const ANN = '20000000-0000-4000-8000-000000000001';
const BEN = '20000000-0000-4000-8000-000000000002';
const CAT = '20000000-0000-4000-8000-000000000003';
const EMAIL: Record<string, string> = { [ANN]: 'ann@red.test', [BEN]: 'ben@red.test', [CAT]: 'cat@blue.test' };

const TEAMS = 'CREATE TABLE IF NOT EXISTS teams (id uuid NOT NULL DEFAULT gen_random_uuid(), name text NOT NULL, PRIMARY KEY (id));';
const PEOPLE =
  'CREATE TABLE IF NOT EXISTS people (id uuid NOT NULL DEFAULT gen_random_uuid(), name text NOT NULL, email text NOT NULL, PRIMARY KEY (id));';
const POSTS =
  'CREATE TABLE IF NOT EXISTS posts (id uuid NOT NULL DEFAULT gen_random_uuid(), title text NOT NULL, team_id uuid NOT NULL REFERENCES teams(id), PRIMARY KEY (id));';
const PEOPLE_ROWS = `INSERT INTO people (id, name, email) VALUES ('${ANN}', 'ann', '${EMAIL[ANN]}'), ('${BEN}', 'ben', '${EMAIL[BEN]}'), ('${CAT}', 'cat', '${EMAIL[CAT]}');`;
const TEAM_ROWS = `INSERT INTO teams (id, name) VALUES ('${RED}', 'red'), ('${BLUE}', 'blue');`;

/** Post.team (single) → Team.members (many): the compiler writes only `foreign_key: members_id` for the many relation. */
function compiledArtifact(migration: string[]) {
  return artifact()
    .entity('Team', 'teams', ['name'])
    .entity('Person', 'people', ['name', 'email'])
    .entity('Post', 'posts', ['title'])
    .single('Post', 'team', 'Team')
    .many('Team', 'members', 'Person')
    .job('notify_team', 'Post', 'Post.team.members')
    .hook('Post', 'create', ['notify_team'])
    .compiled({ migration });
}

interface Shape {
  /** the artifact's migration.up; empty: the artifact carries none and the catalog decides */
  migration: string[];
  /** rows (and, for the catalog and override shapes, tables the migration does not create) */
  data: string;
  /** a forge.runtime.toml [relations] section */
  relations?: string;
}

const dir = mkdtempSync(join(tmpdir(), 'forge-storage-'));
let sink: Awaited<ReturnType<typeof startMailSink>>;
const open: Array<{ db: TestDatabase; pipeline?: TestStack }> = [];

beforeAll(async () => {
  sink = await startMailSink();
});

afterAll(async () => {
  for (const { db, pipeline } of open) {
    await pipeline?.stop();
    await db.drop();
  }
  await sink?.close();
});

async function setUp(name: string, shape: Shape) {
  const db = await createTestDatabase(`forge_storage_${name}`);
  const entry: { db: TestDatabase; pipeline?: TestStack } = { db };
  open.push(entry);
  if (shape.migration.length > 0) await db.pool.query(shape.migration.join('\n'));
  await db.pool.query(shape.data);
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify(compiledArtifact(shape.migration)));
  const toml = join(dir, `${name}.toml`);
  writeFileSync(toml, shape.relations ?? '');
  return { db, entry, file, toml };
}

/** Starts the pipeline, commits a Post of the red team, and returns who was mailed once `count` mails are in. */
async function mailedFor(name: string, shape: Shape, count: number, relations: Record<string, unknown> = {}) {
  const { db, entry, file } = await setUp(name, shape);
  const config = testConfig(`storage-${name}`, {
    email: { host: '127.0.0.1', port: sink.smtpPort, from: 'app@forge.test' },
    relations,
    jobs: { notify_team: { subject: `[${name}] {{trigger.title}}` } },
  });
  const pipeline = await startTestStack({ artifact: file, config, pool: db.pool });
  entry.pipeline = pipeline;
  const {
    rows: [post],
  } = await db.pool.query(`INSERT INTO posts (title, team_id) VALUES ('hello', $1) RETURNING *`, [RED]);
  const [started] = await pipeline.client.afterCommit('Post', 'create', post);
  expect((await outcome(started.workflowId)).state).toBe('completed');
  const subject = `[${name}] hello`;
  const mails = (await sink.waitFor((all) => all.filter((m) => m.subject === subject).length >= count, 10_000)).filter(
    (m) => m.subject === subject,
  );
  return { mailed: mails.flatMap((m) => m.to).sort(), pipeline, db, post };
}

/** `forge-jobs explain notify_team` in this process: its stdout lines. */
async function explain(name: string, post: Record<string, unknown>, url: string): Promise<string[]> {
  let out = '';
  const stdout = jest.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((out += String(chunk)), true));
  const stderr = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    await explainCommand('notify_team', {
      artifact: join(dir, `${name}.json`),
      config: join(dir, `${name}.toml`),
      database: url,
      record: JSON.stringify(post),
    });
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
  return out.split('\n');
}

const storageLines = (lines: string[]) => lines.filter((l) => l.startsWith('  storage '));

test('a many relation stored as a column of the source table (the compiler’s own storage): one target per source row', async () => {
  const shape: Shape = {
    migration: [
      PEOPLE,
      TEAMS.replace(', PRIMARY KEY', ', members_id uuid NOT NULL REFERENCES people(id) ON DELETE cascade, PRIMARY KEY'),
      POSTS,
    ],
    data: `${PEOPLE_ROWS} INSERT INTO teams (id, name, members_id) VALUES ('${RED}', 'red', '${ANN}'), ('${BLUE}', 'blue', '${CAT}');`,
  };
  const { mailed, pipeline, db, post } = await mailedFor('source', shape, 1);
  expect(mailed).toEqual([EMAIL[ANN]]);
  expect(pipeline.worker.artifact.entities.Team.relations.members).toMatchObject({ foreign_key: 'members_id', storage: 'migration' });
  expect(pipeline.worker.artifact.warnings).toContain(
    'entities.Team.relations.members: many relation stored as teams.members_id (from the migration): it holds one Person per Team row',
  );
  const lines = await explain('source', post, db.url);
  expect(storageLines(lines)).toEqual([
    '  storage posts.team_id → teams.id (from the artifact)',
    '  storage teams.members_id → people.id (from the migration; one target per source row)',
  ]);
  expect(lines).toContain('  SELECT t.* FROM "people" AS t WHERE t."id" = ANY($1) ORDER BY t."id"');
  expect(lines).toContain(`  $1 = ["${ANN}"]`);
});

test('a column of the target table referencing the source, whatever its name: the inverse key', async () => {
  const shape: Shape = {
    migration: [TEAMS, PEOPLE.replace(', PRIMARY KEY', ', squad_ref uuid REFERENCES teams(id), PRIMARY KEY'), POSTS],
    data: `${TEAM_ROWS} ${PEOPLE_ROWS} UPDATE people SET squad_ref = CASE WHEN id = '${CAT}' THEN '${BLUE}'::uuid ELSE '${RED}'::uuid END;`,
  };
  const { mailed, db, post } = await mailedFor('target', shape, 2);
  expect(mailed).toEqual([EMAIL[ANN], EMAIL[BEN]]);
  const lines = await explain('target', post, db.url);
  expect(storageLines(lines)).toEqual([
    '  storage posts.team_id → teams.id (from the artifact)',
    '  storage people.squad_ref → teams.id (from the migration)',
  ]);
  expect(lines).toContain('  SELECT t.* FROM "people" AS t WHERE t."squad_ref" = ANY($1) ORDER BY t."id"');
});

test('a table with keys to both sides: a join table', async () => {
  const shape: Shape = {
    migration: [
      TEAMS,
      PEOPLE,
      POSTS,
      'CREATE TABLE crew (',
      '    "Team" uuid NOT NULL,',
      '    person uuid NOT NULL REFERENCES people(id),',
      '    PRIMARY KEY ("Team", person),',
      '    CONSTRAINT crew_team FOREIGN KEY ("Team") REFERENCES teams (id)',
      ');',
    ],
    data: `${TEAM_ROWS} ${PEOPLE_ROWS} INSERT INTO crew VALUES ('${RED}', '${ANN}'), ('${RED}', '${CAT}'), ('${BLUE}', '${BEN}');`,
  };
  const { mailed, db, post } = await mailedFor('join', shape, 2);
  expect(mailed).toEqual([EMAIL[ANN], EMAIL[CAT]]);
  const lines = await explain('join', post, db.url);
  expect(storageLines(lines)[1]).toBe('  storage join table crew: Team → teams.id, person → people.id (from the migration)');
});

test('[relations] in the config wins over the migration', async () => {
  const shape: Shape = {
    migration: [TEAMS, PEOPLE.replace(', PRIMARY KEY', ', team_id uuid REFERENCES teams(id), PRIMARY KEY'), POSTS],
    data: `${TEAM_ROWS} ${PEOPLE_ROWS} UPDATE people SET team_id = '${RED}';
      CREATE TABLE rota (team_id uuid NOT NULL, person_id uuid NOT NULL); INSERT INTO rota VALUES ('${RED}', '${BEN}');`,
    relations: '[relations."Team.members"]\nthrough = { table = "rota", source_key = "team_id", target_key = "person_id" }\n',
  };
  const through = { table: 'rota', source_key: 'team_id', target_key: 'person_id' };
  const { mailed, db, post } = await mailedFor('override', shape, 1, { 'Team.members': { through } });
  expect(mailed).toEqual([EMAIL[BEN]]);
  const lines = await explain('override', post, db.url);
  expect(storageLines(lines)[1]).toBe('  storage join table rota: team_id → teams.id, person_id → people.id (from the config)');
});

test('without a migration in the artifact, the live catalog decides', async () => {
  const shape: Shape = {
    migration: [],
    data: `${TEAMS} ${PEOPLE} ${POSTS} CREATE TABLE squad_members (t uuid REFERENCES teams, p uuid REFERENCES people);
      ${TEAM_ROWS} ${PEOPLE_ROWS} INSERT INTO squad_members VALUES ('${RED}', '${BEN}'), ('${RED}', '${CAT}');`,
  };
  const { mailed, pipeline, db, post } = await mailedFor('catalog', shape, 2);
  expect(mailed).toEqual([EMAIL[BEN], EMAIL[CAT]]);
  expect(pipeline.worker.artifact.entities.Team.relations.members).toMatchObject({
    through: { table: 'squad_members', source_key: 't', target_key: 'p' },
    storage: 'catalog',
  });
  const lines = await explain('catalog', post, db.url);
  expect(storageLines(lines)[1]).toBe('  storage join table squad_members: t → teams.id, p → people.id (from the database catalog)');
});

test('storage found nowhere is an error at worker start naming the relation and what was looked for; explain says the same', async () => {
  const shape: Shape = { migration: [TEAMS, PEOPLE, POSTS], data: `${TEAM_ROWS} ${PEOPLE_ROWS}` };
  const { db, file } = await setUp('missing', shape);
  const message =
    'jobs.notify_team.needs_path: relation Team.members: no storage found in the migration: no column members_id on teams, ' +
    'no column team_id (or referencing teams) on people, no table with keys to both teams and people; ' +
    'declare its storage under [relations."Team.members"] in forge.runtime.toml';
  const config = testConfig('storage-missing', { email: { host: '127.0.0.1', port: sink.smtpPort, from: 'app@forge.test' } });
  const started = startTestStack({ artifact: file, config, pool: db.pool });
  await expect(started).rejects.toThrow(ArtifactError);
  await expect(started).rejects.toThrow(message);
  await expect(explain('missing', { id: 'x', team_id: RED }, db.url)).rejects.toThrow(message);
});
