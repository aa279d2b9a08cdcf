/**
 * The production profile under failure: Temporal's own server on PostgreSQL (test/support/temporal-cluster.ts), two
 * `forge-jobs worker` processes, the helpdesk example. Mid-run the Temporal server is SIGKILLed (tickets
 * created meanwhile go through the outbox) and restarted, then one worker is SIGKILLed. Every job must
 * complete exactly once: one closed run per workflow id, completed; one ActivityLog row per ticket (the
 * entity.create effect is ledger-protected); every agent mailed. A killed worker's courier finishes and
 * records its sends, and an attempt whose completion died with the server is retried after its timeout: either
 * way the retry finds the sent-ledger row and skips the send, so no Message-ID reaches the sink twice.
 *
 * Needs the built CLI (npm run test:cluster builds first) and the Temporal server build (~2 min once).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, createWriteStream, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import { createJobClient, resolveRuntimeConfig } from '../../src';
import type { JobClient } from '../../src/client';
import { startMailSink, type MailSink } from '../../src/dev/mail-sink';
import { stopProcessGroup } from '../../src/dev/process-tree';
import { createMemoryLogger } from '../../src/log';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/dev/embedded-postgres';
import { DEFAULT_TASK_QUEUE, SA } from '../../src/names';
import { startTemporalCluster, type TemporalCluster } from '../support/temporal-cluster';
import { eventually } from '../support/stack';

const ROOT = join(__dirname, '..', '..');
const HELPDESK = join(ROOT, 'examples', 'helpdesk-relations');
const TICKETS_PER_PHASE = 10;

const started = Date.now();
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
const say = (line: string) => process.stderr.write(`[cluster ${elapsed()}] ${line}\n`);

let pg: EmbeddedPostgres;
let cluster: TemporalCluster;
let app: Pool;
let appUrl: string;
let sink: MailSink;
let client: JobClient;
let inspector: Client;
let workDir: string;
const workers: WorkerProcess[] = [];

interface WorkerProcess {
  name: string;
  child: ChildProcess;
  ready: Promise<void>;
  exited: Promise<void>;
}

beforeAll(async () => {
  workDir = mkdtempSync(join(tmpdir(), 'forge-cluster-test-'));
  chmodSync(workDir, 0o755); // the postgres user must reach the data dir when we run as root
  pg = await startEmbeddedPostgres({ dataDir: join(workDir, 'pg-data'), postgresFlags: ['-c', 'fsync=off', '-c', 'max_connections=300'] });
  say(`embedded Postgres ${pg.port}`);
  cluster = await startTemporalCluster({ postgres: pg.url, log: (line) => (line.startsWith('[temporal-server]') ? undefined : say(line)) });

  const admin = new Pool({ connectionString: pg.url, max: 1 });
  await admin.query('CREATE DATABASE helpdesk');
  await admin.end();
  appUrl = pg.url.replace(/\/postgres$/, '/helpdesk');
  app = new Pool({ connectionString: appUrl, max: 10 });
  app.on('error', () => undefined);
  await app.query(readFileSync(join(HELPDESK, 'schema.sql'), 'utf8'));
  await app.query(readFileSync(join(HELPDESK, 'seed.sql'), 'utf8'));

  sink = await startMailSink({ dir: join(workDir, 'mail') });
  const configPath = join(workDir, 'forge.runtime.toml');
  writeFileSync(configPath, runtimeToml());
  workers.push(startWorker('worker-1', configPath), startWorker('worker-2', configPath));
  await Promise.all(workers.map((w) => w.ready));
  say('both workers ready');

  const config = resolveRuntimeConfig(
    { temporal: { address: cluster.address }, jobs: { task_queue: DEFAULT_TASK_QUEUE } },
    { environment: 'test', env: {} },
  );
  client = createJobClient({ artifact: join(HELPDESK, 'artifact.json'), config, logger: createMemoryLogger() });
  inspector = new Client({ connection: await Connection.connect({ address: cluster.address }), namespace: cluster.namespace });
}, 240_000);

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await inspector?.connection.close().catch(() => undefined);
  await Promise.all(workers.map((w) => stopProcessGroup(w.child, 5000)));
  await cluster?.stop().catch(() => undefined);
  await sink?.close();
  await app?.end().catch(() => undefined);
  await pg?.stop();
}, 60_000);

function runtimeToml(): string {
  const q = JSON.stringify;
  return `# written by test/cluster/cluster.test.ts
[database.postgres]
url = ${q(appUrl)}

[temporal]
address = ${q(cluster.address)}
namespace = ${q(cluster.namespace)}

[email]
host = "127.0.0.1"
port = ${sink.smtpPort}
from = "helpdesk@forge.test"

[http]
allow = ["127.0.0.1"]

[jobs]
task_queue = ${q(DEFAULT_TASK_QUEUE)}
concurrency = 10
# short, so the attempt a killed worker held is retried soon (no heartbeats on effects)
timeout = "5s"
max_attempts = 20

[jobs.notify_agents]
subject = "New ticket: {{trigger.subject}}"
text = "Hello {{target.name}}, a new ticket: {{trigger.subject}}"

[relations."Organization.members"]
through = { table = "organization_members", source_key = "organization_id", target_key = "user_id" }

[relations."Ticket.tags"]
through = { table = "ticket_tags", source_key = "ticket_id", target_key = "tag_id" }
`;
}

function startWorker(name: string, configPath: string): WorkerProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, FORGE_LOG_LEVEL: 'info' };
  // the generated file alone says where everything is
  for (const key of [
    'DATABASE_URL',
    'TEMPORAL_ADDRESS',
    'TEMPORAL_NAMESPACE',
    'FORGE_RUNTIME_CONFIG',
    'FORGE_ARTIFACT',
    'FORGE_CODEC_KEY',
    'FORGE_ENV',
  ]) {
    delete env[key];
  }
  const child = spawn(
    process.execPath,
    [join(ROOT, 'bin', 'forge-jobs.js'), 'worker', '--artifact', join(HELPDESK, 'artifact.json'), '--config', configPath],
    {
      cwd: workDir,
      env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const logFile = createWriteStream(join(workDir, `${name}.log`));
  let markReady: () => void = () => undefined;
  let failReady: (error: Error) => void = () => undefined;
  const ready = new Promise<void>((resolve, reject) => {
    markReady = resolve;
    failReady = reject;
  });
  const tail: string[] = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.on('data', (chunk: Buffer) => {
      logFile.write(chunk);
      const text = chunk.toString('utf8');
      tail.push(text);
      if (tail.length > 30) tail.shift();
      if (text.includes('"executor.started"')) markReady();
    });
  }
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      failReady(new Error(`${name} exited (${signal ?? code}) before it was ready:\n${tail.join('')}`));
      resolve();
    }),
  );
  const timer = setTimeout(() => failReady(new Error(`${name} not ready within 90s:\n${tail.join('')}`)), 90_000);
  ready.finally(() => clearTimeout(timer)).catch(() => undefined);
  return { name, child, ready, exited };
}

interface Ticket {
  id: string;
  subject: string;
  org: string;
}

async function insertTicket(tx: { query: Pool['query'] }, org: string, subject: string) {
  const {
    rows: [o],
  } = await tx.query('SELECT id FROM organizations WHERE name = $1', [org]);
  const {
    rows: [author],
  } = await tx.query(
    `SELECT u.id FROM users u JOIN organization_members m ON m.user_id = u.id WHERE m.organization_id = $1 AND u.role = 'customer' ORDER BY u.email LIMIT 1`,
    [o.id],
  );
  const {
    rows: [ticket],
  } = await tx.query('INSERT INTO tickets (subject, body, org_id, author_id) VALUES ($1, $2, $3, $4) RETURNING *', [
    subject,
    'It broke.',
    o.id,
    author.id,
  ]);
  return ticket;
}

/** Commit, then afterCommit: the workflows start straight away (needs Temporal up). */
async function createTickets(phase: string, mode: 'direct' | 'outbox'): Promise<Ticket[]> {
  return Promise.all(
    Array.from({ length: TICKETS_PER_PHASE }, async (_, i) => {
      const org = i % 2 === 0 ? 'Acme' : 'Globex';
      const subject = `${phase} #${i + 1} (${org})`;
      const ticket = await client.withTransaction(
        app,
        async (tx, emit) => {
          const row = await insertTicket(tx, org, subject);
          emit('Ticket', 'create', row);
          return row;
        },
        { outbox: mode === 'outbox' },
      );
      return { id: ticket.id, subject, org };
    }),
  );
}

async function agentsOf(org: string): Promise<string[]> {
  const { rows } = await app.query(
    `SELECT u.email FROM users u JOIN organization_members m ON m.user_id = u.id JOIN organizations o ON o.id = m.organization_id
     WHERE o.name = $1 AND u.role = 'agent' ORDER BY u.email`,
    [org],
  );
  return rows.map((r) => r.email);
}

const mailsFor = (subject: string) => sink.messages().filter((m) => m.subject === `New ticket: ${subject}`);

test('every helpdesk job completes exactly once through a Temporal server crash and a worker crash', async () => {
  const expectedMails = async (tickets: Ticket[]) => {
    let n = 0;
    for (const t of tickets) n += (await agentsOf(t.org)).length;
    return n;
  };
  const deliveredFor = (tickets: Ticket[]) => tickets.reduce((n, t) => n + mailsFor(t.subject).length, 0);

  // Phase 1: tickets start their jobs directly; the Temporal server dies as soon as their mail is flowing.
  const phase1 = await createTickets('phase-1', 'direct');
  const phase1Total = await expectedMails(phase1);
  await eventually(async () => deliveredFor(phase1) > 0, 30_000, 'first mail of phase 1');
  const inFlight1 = phase1Total - deliveredFor(phase1);
  await cluster.kill();
  say(`SIGKILLed the Temporal server with ${inFlight1} of ${phase1Total} phase-1 mails not yet delivered`);

  // Phase 2: while it is down, the app keeps committing: the outbox keeps the events.
  const phase2 = await createTickets('phase-2', 'outbox');
  say(`committed ${phase2.length} tickets to the outbox while Temporal was down`);
  await new Promise((resolve) => setTimeout(resolve, 2000));
  await cluster.restart();
  say('Temporal server restarted');

  // Phase 3: more tickets, and one worker dies mid-run.
  const phase3 = await createTickets('phase-3', 'direct');
  const phase3Total = await expectedMails(phase3);
  await eventually(async () => deliveredFor(phase3) > 0, 60_000, 'first mail of phase 3');
  const inFlight3 = phase3Total - deliveredFor(phase3);
  const victim = workers[0]!;
  process.kill(-victim.child.pid!, 'SIGKILL');
  await victim.exited;
  say(`SIGKILLed ${victim.name} with ${inFlight3} of ${phase3Total} phase-3 mails not yet delivered`);

  const tickets = [...phase1, ...phase2, ...phase3];

  // Every job: exactly two workflows per ticket, each with one run, closed and completed.
  const workflowIds = new Map<string, string[]>();
  await eventually(
    async () => {
      for (const t of tickets) {
        const runs = [];
        for await (const wf of inspector.workflow.list({ query: `ForgeRecordId = "${t.id}"` })) runs.push(wf);
        if (runs.length < 2 || runs.some((r) => r.status.name !== 'COMPLETED')) return false;
        workflowIds.set(
          t.id,
          runs.map((r) => r.workflowId),
        );
      }
      return true;
    },
    180_000,
    'every job workflow completed',
  );
  say('every job workflow completed');
  for (const t of tickets) {
    const ids = workflowIds.get(t.id)!;
    expect(ids).toHaveLength(2); // one run per workflow id (a second run would list the id twice)
    expect(new Set(ids).size).toBe(2);
    for (const id of ids) {
      const description = await inspector.workflow.getHandle(id).describe();
      expect(description.status.name).toBe('COMPLETED');
      expect(description.typedSearchAttributes.get(SA.state)).toBe('completed');
    }
  }
  const jobs = new Set<string>();
  for await (const wf of inspector.workflow.list({ query: `ExecutionStatus = "Completed"` }))
    jobs.add(wf.typedSearchAttributes.get(SA.job) as string);
  expect([...jobs].sort()).toEqual(['log_ticket_created', 'notify_agents']);

  // The ledger-protected entity.create: one ActivityLog row per ticket.
  const { rows } = await app.query(
    `SELECT description, count(*)::int AS n FROM activity_logs WHERE action = 'ticket_created' GROUP BY description`,
  );
  const logged = new Map(rows.map((r) => [r.description as string, r.n as number]));
  expect(tickets.map((t) => [t.subject, logged.get(t.subject) ?? 0])).toEqual(tickets.map((t) => [t.subject, 1]));

  // Every agent of the ticket's organization got its mail; duplicates are counted by Message-ID.
  await eventually(
    async () => {
      for (const t of tickets) {
        const to = new Set(mailsFor(t.subject).flatMap((m) => m.to));
        for (const agent of await agentsOf(t.org)) if (!to.has(agent)) return false;
      }
      return true;
    },
    30_000,
    'every expected mail',
  );
  for (const t of tickets) {
    const delivered = [...new Set(mailsFor(t.subject).flatMap((m) => m.to))].sort();
    expect(delivered).toEqual(await agentsOf(t.org));
  }
  const byMessageId = new Map<string, number>();
  for (const mail of sink.messages()) byMessageId.set(mail.messageId, (byMessageId.get(mail.messageId) ?? 0) + 1);
  const duplicates = [...byMessageId.values()].filter((n) => n > 1).reduce((sum, n) => sum + n - 1, 0);
  const total = await expectedMails(tickets);
  for (const [phase, list] of [
    ['phase 1 (server killed)', phase1],
    ['phase 2 (outbox during outage)', phase2],
    ['phase 3 (worker killed)', phase3],
  ] as const) {
    const last = Math.max(...list.flatMap((t) => mailsFor(t.subject).map((m) => Date.parse(m.receivedAt))));
    say(`${phase}: last mail at ${((last - started) / 1000).toFixed(1)}s`);
  }
  say(
    `${tickets.length} tickets, ${tickets.length * 2} jobs completed once each; ${sink.messages().length} mails for ${total} expected, ${duplicates} duplicate(s) by Message-ID`,
  );
  // A mail is never sent twice under two ids (every Message-ID belongs to one (job, target)), nor twice under one.
  expect(byMessageId.size).toBe(total);
  expect(duplicates).toBe(0);
}, 360_000);
