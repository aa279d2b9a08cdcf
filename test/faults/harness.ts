/**
 * What a fault scenario needs, started fresh by each test file on test/support/stack.ts: a Temporal dev
 * server of its own on a FILE database (so it can be killed and restarted), an embedded Postgres of its own
 * behind a TCP proxy on 127.0.0.1 (so it can be made unreachable), the SMTP and HTTP sinks of
 * test/support/sinks.ts counting deliveries by Message-ID and Idempotency-Key, and workers as child
 * processes of the built CLI (startWorkerProcess) so they can be SIGKILLed in the middle of their effects.
 */
import { randomBytes } from 'node:crypto';
import { appendFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createTcpServer, connect as tcpConnect, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { Pool } from 'pg';
import { loadRuntimeConfig } from '../../src';
import { createMemoryLogger } from '../../src/log';
import { deriveEventId, jobWorkflowId, recordIdOf } from '../../src/outbox/event';
import { freePort } from '../../src/dev/ports';
import type { EmbeddedPostgres } from '../../src/dev/embedded-postgres';
import { startHttpSink, startSmtpSink, type HttpSink, type SmtpSink } from '../support/sinks';
import { startOwnPostgres, startOwnTemporal, startTestStack, type OwnTemporal, type TestStack, type WorkerProcess } from '../support/stack';
import { compiled, artifact as newArtifact } from '../support/artifact-builder';

export type { WorkerProcess };

export const log = (line: string) => process.stderr.write(`[faults] ${line}\n`);

export const artifact = compiled(
  newArtifact()
    .entity('Customer', 'customers', ['name', 'email'])
    .entity('Order', 'orders', ['note'])
    // A fan-out (test/faults/fanout-kill.test.ts): one list update mails every member.
    .entity('List', 'lists', ['title'])
    .entity('Member', 'members', ['email'])
    .single('Order', 'customer', 'Customer')
    .many('List', 'members', 'Member', 'list_id')
    // needs: one SQL hop (Order.customer), then one email per order
    .job('order_mail', 'Order', 'Order.customer')
    // no needs query: one POST per order
    .job('order_hook', 'Order', '', { capabilities: ['http.post'] })
    .job('mail_members', 'List', 'List.members')
    .hook('Order', 'create', ['order_mail', 'order_hook'])
    .hook('List', 'update', ['mail_members']),
);
export const JOBS_PER_ORDER = 2;

// ---------------------------------------------------------------------------------------------------
// Postgres behind a pausable proxy

export interface TcpProxy {
  port: number;
  /** drops every connection and refuses new ones until resume() */
  pause(): Promise<void>;
  resume(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const port = await freePort();
  const sockets = new Set<Socket>();
  let server: TcpServer | undefined;
  const listen = () =>
    new Promise<void>((resolve, reject) => {
      server = createTcpServer((client) => {
        const upstream = tcpConnect(targetPort, '127.0.0.1');
        for (const s of [client, upstream]) {
          sockets.add(s);
          s.on('close', () => sockets.delete(s));
          s.on('error', () => undefined);
        }
        client.pipe(upstream).pipe(client);
        client.on('close', () => upstream.destroy());
        upstream.on('close', () => client.destroy());
      });
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
  const stop = async () => {
    const s = server;
    server = undefined;
    for (const socket of sockets) socket.destroy();
    if (s) await new Promise<void>((r) => s.close(() => r()));
  };
  await listen();
  return { port, pause: stop, resume: listen, close: stop };
}

// ---------------------------------------------------------------------------------------------------
// The stack

export interface Stack {
  dir: string;
  temporal: OwnTemporal;
  pg: EmbeddedPostgres;
  proxy: TcpProxy;
  /** direct to Postgres (not through the proxy): the test's own view */
  pool: Pool;
  dbUrl: string;
  /** counts by Message-ID and by Subject (`Order <id>`), across restartSmtp() */
  smtp: SmtpSink;
  /** counts by Idempotency-Key and by path (`/orders/<id>`) */
  http: HttpSink;
  artifactPath: string;
  configPath: string;
  taskQueue: string;
  client: TestStack['client'];
  clientLogs: ReturnType<typeof createMemoryLogger>['records'];
  /** every JSON log line any worker of this stack wrote */
  workerEvents: Array<Record<string, unknown>>;
  startWorker(): WorkerProcess;
  restartTemporal(mode: 'kill9' | 'stop'): Promise<void>;
  /** the dev server stopped cleanly, and started again on the same ports and file database */
  stopTemporal(): Promise<void>;
  startTemporal(): Promise<void>;
  restartSmtp(): Promise<void>;
  temporalClient(): Promise<Client>;
  stop(): Promise<void>;
}

export interface StackOptions {
  name: string;
  maxAttempts?: number;
  /** per-attempt effect timeout: how soon an attempt lost with a killed worker is retried */
  timeout?: string;
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), `forge-jobs-faults-${options.name}-`));
  const quiet = () => undefined;
  const [temporal, pg] = await Promise.all([
    startOwnTemporal({ dbFilename: join(dir, 'temporal.sqlite'), log: quiet }),
    startOwnPostgres({ database: 'faults', postgresFlags: ['-c', 'fsync=off', '-c', 'max_connections=200'] }),
  ]);
  const proxy = await startTcpProxy(pg.port);
  const dbUrl = pg.url;
  const pool = new Pool({ connectionString: dbUrl, max: 5 });
  pool.on('error', () => undefined);
  await pool.query(`
    CREATE TABLE customers (id serial PRIMARY KEY, name text, email text);
    CREATE TABLE orders (id serial PRIMARY KEY, customer_id integer REFERENCES customers(id), note text);
    INSERT INTO customers (name, email) SELECT 'c' || i, 'c' || i || '@faults.test' FROM generate_series(1, 20) AS i;
    CREATE TABLE lists (id serial PRIMARY KEY, title text);
    CREATE TABLE members (id serial PRIMARY KEY, list_id integer REFERENCES lists(id), email text);
    CREATE INDEX ON members (list_id);`);
  const smtp = await startSmtpSink();
  const http = await startHttpSink();
  const taskQueue = `faults-${options.name}-${randomBytes(3).toString('hex')}`;
  const proxied = new URL(dbUrl);
  proxied.port = String(proxy.port);
  const artifactPath = join(dir, 'artifact.json');
  const configPath = join(dir, 'forge.runtime.toml');
  writeFileSync(artifactPath, JSON.stringify(artifact, null, 2));
  writeFileSync(
    configPath,
    `# generated by test/faults/harness.ts
[database]
adapter = "postgres"
[database.postgres]
url = "${proxied.toString()}"

[temporal]
address = "${temporal.address}"

[email]
host = "127.0.0.1"
port = ${smtp.port}
from = "shop@faults.test"

[http]
allow = ["127.0.0.1"]
timeout = "5s"

[jobs]
task_queue = "${taskQueue}"
max_attempts = ${options.maxAttempts ?? 8}
timeout = "${options.timeout ?? '3s'}"
concurrency = 10

[jobs.order_mail]
subject = "Order {{trigger.id}}"
text = "Thank you for order {{trigger.id}}."

[jobs.mail_members]
subject = "Member {{target.id}}"
text = "Hello {{target.email}}."

[jobs.order_hook]
url = "http://127.0.0.1:${http.port}/orders/{{trigger.id}}"
`,
  );
  const config = loadRuntimeConfig(configPath, { environment: 'development' });
  const clientLogger = createMemoryLogger();
  // The app's client with the app's database, as production apps have it: a start Temporal does not take
  // within the deadline (a cold connection on a busy machine, a restart) goes to the outbox instead of being lost.
  const test = await startTestStack({
    artifact,
    config,
    pool,
    temporal,
    worker: false,
    clientDatabase: true,
    logger: clientLogger,
    files: { artifact: artifactPath, config: configPath, log: join(dir, 'worker.log') },
  });
  let inspector: Promise<Client> | undefined;
  let inspectorConnection: Connection | undefined;

  const stack: Stack = {
    dir,
    temporal,
    pg,
    proxy,
    pool,
    dbUrl,
    smtp,
    http,
    artifactPath,
    configPath,
    taskQueue,
    client: test.client,
    clientLogs: clientLogger.records,
    workerEvents: test.workerEvents,
    startWorker: () => test.startWorkerProcess(),
    restartTemporal: (mode) => temporal.restart(mode),
    stopTemporal: () => temporal.stop(),
    startTemporal: () => temporal.start(),
    async restartSmtp() {
      stack.smtp = await startSmtpSink({ port: stack.smtp.port, carry: stack.smtp });
    },
    temporalClient() {
      inspector ??= Connection.connect({ address: temporal.address }).then((c) => {
        inspectorConnection = c;
        return new Client({ connection: c });
      });
      return inspector;
    },
    async stop() {
      await test.stop().catch(() => undefined);
      await inspectorConnection?.close().catch(() => undefined);
      await stack.smtp.close().catch(() => undefined);
      await http.close().catch(() => undefined);
      await proxy.close().catch(() => undefined);
      await pool.end().catch(() => undefined);
      await temporal.stop().catch(() => undefined);
      await pg.stop().catch(() => undefined);
    },
  };
  return stack;
}

// ---------------------------------------------------------------------------------------------------
// Orders, outcomes and the result table

/** Inserts `n` orders and returns their rows (committed). */
export async function insertOrders(pool: Pool, n: number, note: string): Promise<Array<Record<string, unknown>>> {
  const { rows } = await pool.query(
    `INSERT INTO orders (customer_id, note) SELECT 1 + (i % 20), $2 FROM generate_series(1, $1::int) AS i RETURNING *`,
    [n, note],
  );
  return rows;
}

export interface Outcome {
  completed: number;
  dead: number;
  /** not closed (or never started) by the deadline */
  open: string[];
  reasons: string[];
  /** workflow id → COMPLETED | FAILED | … for the closed ones */
  statuses: Map<string, { status: string; reason?: string }>;
}

/** Waits until every workflow is closed or the deadline passes; counts completed and dead. */
export async function waitForWorkflows(client: Client, ids: string[], timeoutMs: number): Promise<Outcome> {
  const deadline = Date.now() + timeoutMs;
  const closed = new Map<string, { status: string; reason?: string }>();
  while (Date.now() < deadline) {
    const pending = ids.filter((id) => !closed.has(id));
    if (pending.length === 0) break;
    await Promise.all(
      pending.map(async (id) => {
        try {
          const d = await client.workflow.getHandle(id).describe();
          if (d.status.name === 'RUNNING') return;
          let reason: string | undefined;
          if (d.status.name === 'FAILED') {
            try {
              await client.workflow.getHandle(id).result();
            } catch (err) {
              const e = err as { cause?: { message?: string }; message: string };
              reason = e.cause?.message ?? e.message;
            }
          }
          closed.set(id, { status: d.status.name, reason });
        } catch {
          // not found (yet) or the server is restarting
        }
      }),
    );
    if (ids.some((id) => !closed.has(id))) await new Promise((r) => setTimeout(r, 500));
  }
  const values = [...closed.values()];
  return {
    completed: values.filter((v) => v.status === 'COMPLETED').length,
    dead: values.filter((v) => v.status === 'FAILED').length,
    open: ids.filter((id) => !closed.has(id)),
    reasons: values.flatMap((v) => (v.reason ? [v.reason] : [])),
    statuses: closed,
  };
}

/** The workflow ids an order's event starts: afterCommit derives the event id from the row; the outbox stores it. */
export function workflowIdsOf(row: Record<string, unknown>, eventId: string = deriveEventId('Order', 'create', row)): string[] {
  const recordId = recordIdOf(row);
  const orderJobs = Object.values(artifact.jobs).filter((job) => job.input_entity === 'Order');
  return orderJobs.map((job) => jobWorkflowId({ job: job.name, entity: 'Order', operation: 'create', recordId, eventId }));
}

/** Orders (by id) whose email or POST never reached a sink. */
export function missingDeliveries(stack: Stack, orderIds: unknown[]): string[] {
  return orderIds.flatMap((id) => [
    ...(stack.smtp.labels.has(`Order ${id}`) ? [] : [`mail ${id}`]),
    ...(stack.http.labels.has(`/orders/${id}`) ? [] : [`hook ${id}`]),
  ]);
}

/** Duplicate deliveries over all keys (Message-ID, Idempotency-Key): sum of (count - 1). */
export function duplicatesNow(stack: Stack): number {
  return stack.smtp.duplicates() + stack.http.duplicates();
}

/** Duplicate deliveries of these orders' email and POST. */
export function duplicatesOf(stack: Stack, orderIds: unknown[]): number {
  const extra = (n: number | undefined) => Math.max(0, (n ?? 0) - 1);
  return orderIds.reduce<number>(
    (a, id) => a + extra(stack.smtp.labelCounts.get(`Order ${id}`)) + extra(stack.http.labelCounts.get(`/orders/${id}`)),
    0,
  );
}

export interface FaultRow {
  scenario: string;
  round: string;
  fault: string;
  jobs: number;
  completed: number;
  dead: number;
  lost: number;
  duplicates: number;
  /** confirmed sends a retry found in the effect ledger and did not send again (would have been duplicates) */
  ledgerSkips?: number;
  note?: string;
}

/** Appends one row to the run's result file; jest.faults.config.js's teardown prints the table. */
export function record(row: FaultRow): void {
  const file = process.env.FORGE_FAULTS_RESULTS;
  log(
    `${row.scenario} ${row.round}: ${row.fault}: jobs ${row.jobs}, completed ${row.completed}, dead ${row.dead}, lost ${row.lost}, duplicates ${row.duplicates}${row.note ? ` (${row.note})` : ''}`,
  );
  if (file) appendFileSync(file, JSON.stringify(row) + '\n');
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
