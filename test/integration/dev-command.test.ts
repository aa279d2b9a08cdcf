/**
 * `npm start` as a newcomer runs it: `forge-jobs dev` prints a Web UI that serves the Temporal UI, a Postgres
 * URL that answers, an SMTP address that accepts mail and the app; the README's curl mails exactly the right
 * agents; Ctrl-C leaves no process behind.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTransport } from 'nodemailer';
import { Client } from 'pg';
import { isAlive } from '../../src/dev/process-tree';
import { eventually } from '../support/stack';

const ROOT = join(__dirname, '..', '..');
let dev: ChildProcess;
let out = '';
let err = '';
let cache: string;

beforeAll(async () => {
  cache = mkdtempSync(join(tmpdir(), 'forge-dev-cache-'));
  chmodSync(cache, 0o755); // embedded Postgres runs as the postgres user when we are root
  dev = spawn(process.execPath, ['bin/forge-jobs.js', 'dev'], {
    cwd: ROOT,
    env: { ...process.env, FORGE_JOBS_CACHE_DIR: cache, TEMPORAL_CLI_PATH: process.env.FORGE_TEST_TEMPORAL_CLI, DATABASE_URL: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  dev.stdout!.on('data', (chunk) => (out += chunk));
  dev.stderr!.on('data', (chunk) => (err += chunk));
  await eventually(async () => out.includes('Press Ctrl-C'), 90_000);
}, 120_000);

afterAll(async () => {
  if (dev.exitCode === null) process.kill(-dev.pid!, 'SIGKILL');
  rmSync(cache, { recursive: true, force: true });
});

const printed = (label: string) => new RegExp(`${label}\\s+(\\S+)`).exec(out)?.[1] ?? '';

test('it prints each address, and each serves what it says', async () => {
  const ui = await fetch(printed('Temporal Web UI'));
  expect(ui.status).toBe(200);
  // The UI's own API, proxied to the dev server it was started with.
  const namespaces = (await (await fetch(`${printed('Temporal Web UI')}/api/v1/namespaces`)).json()) as {
    namespaces: Array<{ namespaceInfo: { name: string } }>;
  };
  expect(namespaces.namespaces.map((n: { namespaceInfo: { name: string } }) => n.namespaceInfo.name)).toContain('default');

  const pg = new Client({ connectionString: printed('Postgres') });
  await pg.connect();
  const { rows } = await pg.query('select count(*)::int as n from tickets');
  expect(rows[0].n).toBeGreaterThan(0);
  await pg.end();

  const [host, port] = printed('SMTP').split(':');
  const info = await createTransport({ host, port: Number(port), secure: false, ignoreTLS: true }).sendMail({
    from: 'me@dev.test',
    to: 'you@dev.test',
    subject: 'hello sink',
    text: 'hi',
  });
  expect(info.accepted).toEqual(['you@dev.test']);
  const mail = await (await fetch(`${printed('Mail \\(captured\\)')}/messages.json`)).json();
  expect(JSON.stringify(mail)).toContain('hello sink');
});

test("the README's curl creates a ticket and mails exactly Acme's agents, on the schema of the artifact's migration", async () => {
  const app = printed('App').replace('/api/actions/create_ticket', '');
  const res = await fetch(`${app}/api/actions/create_ticket`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      subject: 'Printer on fire',
      description: 'Third floor.',
      org: '10000000-0000-4000-8000-000000000001',
      author: '20000000-0000-4000-8000-000000000004',
      assignee: '20000000-0000-4000-8000-000000000002',
      tags: '30000000-0000-4000-8000-000000000001',
    }),
  });
  expect(res.status).toBe(201);
  const body = (await res.json()) as { jobs: Array<{ job: string }> };
  // log_ticket_created was refused at load: the migration's activity_logs needs columns it does not map
  expect(body.jobs.map((j: { job: string }) => j.job)).toEqual(['notify_agents']);
  expect(err).toMatch(/"event":"artifact\.warning".*jobs\.log_ticket_created: refused: /);

  const mailUrl = `${printed('Mail \\(captured\\)')}/messages.json`;
  const notified = await eventually(async () => {
    const all = (await (await fetch(mailUrl)).json()) as Array<{ subject: string; to: string[] }>;
    const mine = all.filter((m) => m.subject === 'New ticket: Printer on fire');
    return mine.length >= 1 && mine;
  }, 30_000);
  // Acme's one member in the compiler's schema (organizations.members_id) is Alice
  expect(notified.flatMap((m) => m.to).sort()).toEqual(['alice.agent@acme.test']);

  const bad = await fetch(`${app}/api/actions/create_ticket`, { method: 'POST', body: JSON.stringify({ subjekt: 'x' }) });
  expect(bad.status).toBe(400);
});

test("the README's psql INSERT, with no app call, mails exactly Acme's member", async () => {
  expect(err).toMatch(/capture: triggers on .*tickets/);
  const pg = new Client({ connectionString: printed('Postgres') });
  await pg.connect();
  try {
    await pg.query(
      `INSERT INTO tickets (subject, description, org_id, author_id, assignee_id, tags_id)
       VALUES ('Coffee machine down', 'Fourth floor.', '10000000-0000-4000-8000-000000000001', '20000000-0000-4000-8000-000000000004',
               '20000000-0000-4000-8000-000000000002', '30000000-0000-4000-8000-000000000001')`,
    );
  } finally {
    await pg.end();
  }
  const mailUrl = `${printed('Mail \\(captured\\)')}/messages.json`;
  const notified = await eventually(async () => {
    const all = (await (await fetch(mailUrl)).json()) as Array<{ subject: string; to: string[] }>;
    const mine = all.filter((m) => m.subject === 'New ticket: Coffee machine down');
    return mine.length >= 1 && mine;
  }, 30_000);
  expect(notified.flatMap((m) => m.to).sort()).toEqual(['alice.agent@acme.test']);
});

test('Ctrl-C stops everything it started', async () => {
  const exited = new Promise<number | null>((resolve) => dev.once('exit', (code) => resolve(code)));
  const [errBefore, outBefore] = [err.length, out.length];
  process.kill(dev.pid!, 'SIGINT');
  const code = await exited;
  if (code !== 0)
    throw new Error(
      `forge-jobs dev exited ${code}:\n${err
        .split('\n')
        .filter((l) => !/^\s*\[(temporal|postgres)\]/.test(l))
        .slice(-15)
        .join('\n')}`,
    );
  // A short summary; the Temporal server's shutdown warnings stay in its log file.
  expect(out.slice(outBefore)).toMatch(
    /^stopping…\nstopped app server, job client, worker, mail sink, database pool, (embedded Postgres, Temporal dev server|Temporal dev server, embedded Postgres)\. Temporal's log: \S+temporal-dev\.log\n$/,
  );
  expect(err.slice(errBefore)).not.toMatch(/\[temporal\]|WARN/);
  expect(err).not.toMatch(/\[temporal\]/);
  // Nothing it started is left: no process mentions its cache dir (Temporal's database file, Postgres' data
  // dir), and the printed ports refuse connections.
  const leftovers = () =>
    execFileSync('ps', ['-eo', 'pid,stat,args'], { encoding: 'utf8' })
      .split('\n')
      .filter((line) => line.includes(cache) && !/\sZ/.test(line));
  await eventually(async () => leftovers().length === 0, 20_000);
  // The worker's courier (its own process group, so Ctrl-C never reached it) was closed with the worker.
  const couriers = [...err.matchAll(/"event":"courier\.started","pid":(\d+)/g)].map((m) => Number(m[1]));
  expect(couriers).not.toEqual([]);
  await eventually(async () => couriers.every((pid) => !isAlive(pid)), 20_000, 'the courier to exit');
  await expect(fetch(printed('Temporal Web UI'))).rejects.toThrow();
  const pg = new Client({ connectionString: printed('Postgres'), connectionTimeoutMillis: 2000 });
  await expect(pg.connect()).rejects.toThrow();
});
