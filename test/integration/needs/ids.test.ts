import { resolveNeeds, type QueryFn, type Row } from '../../../src/needs';
import { artifact, f } from '../../support/artifact-builder';
import { createTestDatabase, type TestDatabase } from '../../support/db';

const HOSTILE = "x'; DROP TABLE users; --";
const COMMENTED = 'a /* b */ c -- d';

const P1 = '00000000-0000-4000-8000-000000000001';
const P2 = '00000000-0000-4000-8000-000000000002';
const ALICE = '10000000-0000-4000-8000-000000000001';
const BOB = '10000000-0000-4000-8000-000000000002';
const CAROL = '10000000-0000-4000-8000-000000000003';

const SCHEMA = `
  CREATE TABLE users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), name text NOT NULL, role text);
  CREATE TABLE projects (id uuid PRIMARY KEY, name text NOT NULL, owner_id uuid REFERENCES users);
  CREATE TABLE project_watchers (project_id uuid NOT NULL REFERENCES projects, user_id uuid NOT NULL REFERENCES users);
  CREATE TABLE tasks (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), project_id uuid REFERENCES projects, title text NOT NULL);

  INSERT INTO users (id, name, role) VALUES ('${ALICE}', 'alice', 'dev'), ('${BOB}', 'bob', 'pm'), ('${CAROL}', 'carol', 'dev');
  INSERT INTO projects (id, name, owner_id) VALUES ('${P1}', 'one', '${BOB}'), ('${P2}', 'two', '${CAROL}');
  -- alice watches project one twice (no unique constraint): she must still come back once
  INSERT INTO project_watchers (project_id, user_id) VALUES ('${P1}', '${ALICE}'), ('${P1}', '${ALICE}'), ('${P1}', '${BOB}'), ('${P2}', '${CAROL}');

  -- text ids chosen by users, and bigint ids that pg returns as strings
  CREATE TABLE tags (id text PRIMARY KEY, label text NOT NULL);
  CREATE TABLE articles (id bigint PRIMARY KEY, tag_id text REFERENCES tags, title text NOT NULL);
  INSERT INTO tags (id, label) VALUES ($$${HOSTILE}$$, 'hostile'), ('plain', 'plain'), ($$${COMMENTED}$$, 'commented');
  INSERT INTO articles (id, tag_id, title) VALUES
    (9007199254740993, $$${HOSTILE}$$, 'big'), (2, $$${HOSTILE}$$, 'two'), (3, 'plain', 'three'), (4, $$${COMMENTED}$$, 'four');
`;

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('forge_needs_ids');
  await db.pool.query(SCHEMA);
});

afterAll(async () => {
  await db?.drop();
});

const a = artifact()
  .entity('User', 'users', ['name', 'role'])
  .entity('Project', 'projects', ['name'])
  .entity('Task', 'tasks', ['title'])
  .entity('Tag', 'tags', ['label'])
  .entity('Article', 'articles', ['title'])
  .single('Task', 'project', 'Project')
  .single('Project', 'owner', 'User')
  .through('Project', 'watchers', 'User', { table: 'project_watchers', source_key: 'project_id', target_key: 'user_id' })
  .many('Project', 'tasks', 'Task')
  .single('Article', 'tag', 'Tag')
  .many('Tag', 'articles', 'Article')
  .job('watchers', 'Task', ['Task.project.watchers', 'Task.project.owner'])
  .job('dev_watchers', 'Task', 'Task.project.watchers', f.eq('role', 'dev'))
  .job('siblings', 'Task', 'Task.project.tasks')
  .job('same_tag', 'Article', 'Article.tag.articles')
  .job('tag', 'Article', 'Article.tag')
  .build();

function recorder(): { texts: string[]; query: QueryFn } {
  const texts: string[] = [];
  return {
    texts,
    query: async (text, values) => {
      texts.push(text);
      return (await db.pool.query(text, values)).rows;
    },
  };
}

async function insertTask(projectId: string | null, title: string): Promise<Row> {
  const { rows } = await db.pool.query('INSERT INTO tasks (project_id, title) VALUES ($1, $2) RETURNING *', [projectId, title]);
  return rows[0];
}

describe('needs with uuid ids', () => {
  it('follows single and through relations keyed by uuid, de-duplicating the union', async () => {
    const task = await insertTask(P1, 'write');
    const r = await resolveNeeds({ query: db.pool, artifact: a, job: a.jobs.watchers, record: task });
    // watchers alice, bob (ordered by uuid), then owner bob again
    expect(r.targets.map((u) => u.name)).toEqual(['alice', 'bob']);
    expect(r.queries).toBe(2 + 2);

    const filtered = await resolveNeeds({ query: db.pool, artifact: a, job: a.jobs.dev_watchers, record: task });
    expect(filtered.targets.map((u) => u.id)).toEqual([ALICE]);
  });

  it('follows a many relation by an inverse uuid key', async () => {
    const first = await insertTask(P2, 'first');
    const second = await insertTask(P2, 'second');
    const r = await resolveNeeds({ query: db.pool, artifact: a, job: a.jobs.siblings, record: first });
    expect(r.targets.map((t) => t.id).sort()).toEqual([first.id, second.id].sort());
    expect(r.targets.map((t) => t.id)).toEqual([...r.targets.map((t) => t.id as string)].sort());
  });

  it('gives no targets for a task without a project', async () => {
    const r = await resolveNeeds({ query: db.pool, artifact: a, job: a.jobs.watchers, record: await insertTask(null, 'loose') });
    expect(r).toEqual({ targetEntity: 'User', targets: [], queries: 0 });
  });
});

describe('needs with text and bigint ids', () => {
  it('matches hostile record values literally, as bind parameters', async () => {
    const rec = recorder();
    const article = { id: '2', tag_id: HOSTILE, title: 'two' };
    const r = await resolveNeeds({ query: rec.query, artifact: a, job: a.jobs.same_tag, record: article });
    expect(r.targets.map((t) => t.id)).toEqual(['2', '9007199254740993']);
    expect(rec.texts).toHaveLength(2);
    for (const text of rec.texts) {
      expect(text).not.toContain(HOSTILE);
      expect(text).not.toMatch(/DROP|;|--|'/);
    }

    const commented = recorder();
    const tag = await resolveNeeds({ query: commented.query, artifact: a, job: a.jobs.tag, record: { id: '4', tag_id: COMMENTED } });
    expect(tag.targets).toEqual([{ id: COMMENTED, label: 'commented' }]);
    for (const text of commented.texts) expect(text).not.toMatch(/\/\*|\*\/|--/);

    const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM users');
    expect(rows[0].n).toBe(3);
  });

  it('keeps bigint ids exact and accepts a BigInt key from the app', async () => {
    const r = await resolveNeeds({ query: db.pool, artifact: a, job: a.jobs.same_tag, record: { id: 9007199254740993n, tag_id: HOSTILE } });
    expect(r.targets.map((t) => t.title)).toEqual(['two', 'big']);

    const back = await resolveNeeds({ query: db.pool, artifact: a, job: a.jobs.same_tag, record: { id: 3n, tag_id: 'plain' } });
    expect(back.targets).toEqual([{ id: '3', tag_id: 'plain', title: 'three' }]);
  });
});
