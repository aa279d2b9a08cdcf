/**
 * Send rates enforced by the Temporal server across workers: two `forge-jobs worker` processes share an
 * `[email] rate = "20/s"` lane; a job with an HTTP rate of its own does not slow an unlimited email job; a
 * provider answering 429 with Retry-After under a rate still gets every send through.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJobClient, createJobInspector, resolveRuntimeConfig } from '../../src';
import { startMailSink, type MailSink } from '../../src/dev/mail-sink';
import { compiled, artifact as newArtifact } from '../support/artifact-builder';
import { BIN, ROOT, address, cliEnv, ensureBuilt } from '../support/cli';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { busiestWindow, startHttpSink, type HttpSink } from '../support/sinks';
import { eventually, outcome, startTestStack, temporal, testConfig, uniqueQueue } from '../support/stack';

const artifact = compiled(
  newArtifact()
    .entity('List', 'lists', ['name'])
    .entity('Member', 'members', ['email', 'path'])
    .many('List', 'members', 'Member', 'list_id')
    .job('announce', 'List', 'List.members', { capabilities: ['email.send'] })
    .job('ping', 'List', 'List.members', { capabilities: ['http.post'] })
    .hook('List', 'create', ['announce'])
    .hook('List', 'update', ['ping']),
);

let db: TestDatabase;
let mail: MailSink;
let http: HttpSink;

beforeAll(async () => {
  ensureBuilt();
  db = await createTestDatabase('rate_limits');
  await db.pool.query(`
    CREATE TABLE lists (id serial PRIMARY KEY, name text);
    CREATE TABLE members (id serial PRIMARY KEY, list_id integer REFERENCES lists(id), email text, path text);`);
  mail = await startMailSink();
  // every "busy" path is refused once with Retry-After, as a provider over its own limit does
  http = await startHttpSink({
    answer: ({ path, n }) => (path.startsWith('/busy') && n === 1 ? { status: 429, headers: { 'retry-after': '1' } } : 200),
  });
});

afterAll(async () => {
  await mail?.close();
  await http?.close();
  await db?.drop();
});

async function list(name: string, members: number, path = (i: number) => `m${i}`): Promise<Record<string, unknown>> {
  const { rows } = await db.pool.query('INSERT INTO lists (name) VALUES ($1) RETURNING *', [name]);
  await db.pool.query(
    `INSERT INTO members (list_id, email, path) SELECT $1, $2 || i || '@rate.test', $3 || i FROM generate_series(1, $4) i`,
    [rows[0].id, `${name}-`, path(0).replace(/0$/, ''), members],
  );
  return rows[0];
}

describe('[email] rate across two worker processes', () => {
  const workers: ChildProcess[] = [];
  const logs: string[][] = [];
  let taskQueue: string;
  let configPath: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'forge-rate-'));
    taskQueue = uniqueQueue('rate-email');
    configPath = join(dir, 'forge.runtime.toml');
    writeFileSync(join(dir, 'artifact.json'), JSON.stringify(artifact));
    writeFileSync(
      configPath,
      [
        '[email]',
        'host = "127.0.0.1"',
        `port = ${mail.smtpPort}`,
        'from = "rate@forge.test"',
        'rate = "20/s"',
        '[jobs]',
        `task_queue = "${taskQueue}"`,
        'max_attempts = 3',
      ].join('\n'),
    );
    for (let i = 0; i < 2; i++) {
      const lines: string[] = [];
      logs.push(lines);
      const child = spawn(
        process.execPath,
        [
          BIN,
          'worker',
          '--artifact',
          join(dir, 'artifact.json'),
          '--config',
          configPath,
          '--database',
          db.url,
          '--address',
          address(),
          '--no-relay',
        ],
        { cwd: ROOT, env: cliEnv({ FORGE_LOG_LEVEL: 'info' }) },
      );
      child.stderr!.on('data', (d: Buffer) => lines.push(...d.toString().split('\n').filter(Boolean)));
      workers.push(child);
    }
    // Each worker spaces its sends by the number of workers it sees on the lane: wait until both see two.
    await eventually(
      async () => logs.every((lines) => lines.some((l) => l.includes('"rate.lane_workers"') && l.includes('"workers":2'))),
      30_000,
      'both workers to see each other on the lane',
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => new Promise((r) => (w.exitCode !== null ? r(null) : (w.once('exit', r), w.kill('SIGTERM'))))));
  });

  test('400 sends take at least 19 s, and no second holds more than 24, however the two workers share them', async () => {
    const config = resolveRuntimeConfig(
      {
        temporal: { address: address() },
        email: { host: '127.0.0.1', port: mail.smtpPort, rate: '20/s' },
        jobs: { task_queue: taskQueue, start_deadline: '10s' },
      },
      { env: {} },
    );
    // no database for a deferred start: a loaded machine gets the shared test config's longer start deadline
    const client = createJobClient({ artifact, config });
    const inspector = createJobInspector({ config });
    try {
      const before = mail.messages().length;
      const started = Date.now();
      const [job] = await client.afterCommit('List', 'create', await list('rated', 400));
      // stats show the lane's backlog while sends wait for the rate: watched until the job ends
      const seen: Array<{ backlog: number; workers: number; task_queue: string; rate: string }> = [];
      let running = true;
      const watching = (async () => {
        while (running) {
          const lane = (await inspector.stats().catch(() => undefined))?.rate_lanes.find((l) => l.lane === 'email');
          if (lane) seen.push(lane);
          await new Promise((r) => setTimeout(r, 200));
        }
      })();
      const ended = await outcome(job.workflowId);
      running = false;
      await watching;
      expect(ended.state).toBe('completed');
      expect(Math.max(0, ...seen.map((l) => l.backlog))).toBeGreaterThan(0);
      expect(seen.find((l) => l.backlog > 0)).toMatchObject({ task_queue: `${taskQueue}/email`, rate: '20/s', workers: 2 });
      const sent = mail
        .messages()
        .slice(before)
        .filter((m) => m.to[0]?.startsWith('rated-'));
      expect(new Set(sent.map((m) => m.to[0])).size).toBe(400);
      const times = sent.map((m) => Date.parse(m.receivedAt));
      expect(Math.max(...times) - started).toBeGreaterThanOrEqual(19_000);
      expect(busiestWindow(times, 1000)).toBeLessThanOrEqual(24);
      // both workers sent (the sends ran in the job's part, a child workflow): the limit is the server's
      const identities = new Set<string>();
      for (const id of [job.workflowId, `${job.workflowId}/part-0`]) {
        const history = await (await temporal()).workflow.getHandle(id).fetchHistory();
        for (const e of history.events ?? [])
          if (e.activityTaskStartedEventAttributes?.identity) identities.add(e.activityTaskStartedEventAttributes.identity);
      }
      expect(identities.size).toBe(2);
    } finally {
      await client.close();
      await inspector.close();
    }
  }, 120_000);
});

describe('a job with an HTTP rate of its own', () => {
  test('does not slow an unlimited email job, and a 429 with Retry-After under the rate still finishes with no dead target', async () => {
    const config = testConfig('rate-http', {
      email: { host: '127.0.0.1', port: mail.smtpPort, from: 'rate@forge.test' },
      http: { allow: ['127.0.0.1'] },
      jobs: { max_attempts: 3, ping: { rate: '4/s', url: `${http.url}/{{target.path}}` } },
    });
    const pipeline = await startTestStack({ artifact, config, pool: db.pool });
    try {
      const limited = await list('slow', 20, (i) => `busy-${i}`);
      const [ping] = await pipeline.client.afterCommit('List', 'update', limited);
      const [announce] = await pipeline.client.afterCommit('List', 'create', await list('fast', 40));
      expect((await outcome(announce.workflowId)).state).toBe('completed');
      // the email job finished while the rate-limited job still had most of its 20 sends (5 s at 4/s) to make
      const pingsWhenMailDone = http.hits.filter((h) => h.path.startsWith('/busy-') && h.status === 200).length;
      expect(pingsWhenMailDone).toBeLessThan(15);
      expect(await outcome(ping.workflowId)).toMatchObject({ state: 'completed' });
      const ok = http.hits.filter((h) => h.path.startsWith('/busy-') && h.status === 200);
      expect(new Set(ok.map((h) => h.path)).size).toBe(20);
      expect(http.hits.filter((h) => h.status === 429)).toHaveLength(20);
      expect(
        busiestWindow(
          http.hits.filter((h) => h.path.startsWith('/busy-')).map((h) => h.at),
          1000,
        ),
      ).toBeLessThanOrEqual(Math.ceil(4 * 1.2));
    } finally {
      await pipeline.stop();
    }
  }, 120_000);
});
