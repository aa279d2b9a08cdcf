/**
 * The courier (src/courier): the process that performs email and HTTP sends for a worker and writes their
 * sent-ledger rows, so that a worker killed mid-send leaves the send to finish and be recorded.
 *
 * Real processes on loopback: a worker-like parent (test/fixtures/courier-parent.ts) killed with SIGKILL
 * while an SMTP sink holds its DATA reply; then, from this process, errors crossing the process boundary
 * with their class and code, the worker's DNS stub answering the child's lookups, and a courier that dies
 * mid-send being replaced.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { SMTPServer } from 'smtp-server';
import { LOOPBACK_SMTP } from '../../src/dev/mail-sink';
import { sentKey } from '../../src/activities/sent-ledger';
import { createCourier, type Courier } from '../../src/courier';
import { isAlive, waitForExit } from '../../src/dev/process-tree';
import { PermanentError, TransientError } from '../../src/errors';
import { createMemoryLogger } from '../../src/log';
import { freePort } from '../../src/dev/ports';
import type { ResolvedAddress } from '../../src/providers/ssrf';
import { migrate } from '../../src/sql/migrations';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { eventually } from '../support/stack';

const ROOT = join(__dirname, '..', '..');

/** SMTP on 127.0.0.1 that holds every DATA reply until release(), so a send can be caught in flight. */
interface HoldingSink {
  port: number;
  /** Message-IDs whose DATA arrived (held or answered) */
  arrived: string[];
  /** Message-IDs the sink accepted (answered 250) */
  accepted: string[];
  /** recipients refused with 550 at RCPT */
  refuse: Set<string>;
  release(): void;
  holding: boolean;
  close(): Promise<void>;
}

async function startHoldingSink(): Promise<HoldingSink> {
  const waiting: Array<() => void> = [];
  const sink: HoldingSink = {
    port: await freePort(),
    arrived: [],
    accepted: [],
    refuse: new Set(),
    holding: true,
    release() {
      sink.holding = false;
      for (const go of waiting.splice(0)) go();
    },
    close: () => new Promise((resolve) => smtp.close(() => resolve())),
  };
  const smtp = new SMTPServer({
    ...LOOPBACK_SMTP,
    disabledCommands: ['STARTTLS', 'AUTH'],
    closeTimeout: 200,
    onRcptTo(address, _session, callback) {
      if (sink.refuse.has(address.address)) return callback(Object.assign(new Error('5.1.1 no such mailbox'), { responseCode: 550 }));
      callback();
    },
    onData(stream, _session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const id = /^message-id:\s*(\S+)/im.exec(Buffer.concat(chunks).toString('utf8'))?.[1] ?? '(none)';
        sink.arrived.push(id);
        const answer = () => {
          sink.accepted.push(id);
          callback(null);
        };
        if (sink.holding) waiting.push(answer);
        else answer();
      });
    },
  });
  smtp.on('error', () => undefined);
  await new Promise<void>((resolve) => smtp.listen(sink.port, '127.0.0.1', () => resolve()));
  return sink;
}

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('courier');
  await migrate(db.pool);
});

afterAll(async () => {
  await db?.drop();
});

async function ledgered(idempotencyKey: string): Promise<boolean> {
  const { rowCount } = await db.pool.query('SELECT 1 FROM forge_jobs.effect_ledger WHERE key = $1', [sentKey(idempotencyKey)]);
  return (rowCount ?? 0) > 0;
}

test('a send in flight when its worker is killed (SIGKILL) is finished by the courier, recorded in the sent-ledger, and the courier exits', async () => {
  const sink = await startHoldingSink();
  const key = 'wf-held/target-1/0';
  let parent: ChildProcess | undefined;
  try {
    parent = spawn(
      process.execPath,
      ['-r', join(ROOT, 'bench', 'register.js'), join(ROOT, 'test', 'fixtures', 'courier-parent.ts'), JSON.stringify({ databaseUrl: db.url, smtpPort: sink.port, idempotencyKey: key })],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const out: string[] = [];
    // The courier inherits the parent's stderr, so its own lines (after the parent is gone) arrive here too.
    const courierLog: Array<Record<string, unknown>> = [];
    createInterface({ input: parent.stdout! }).on('line', (line) => out.push(line));
    createInterface({ input: parent.stderr! }).on('line', (line) => {
      if (line.startsWith('{')) courierLog.push(JSON.parse(line));
      else out.push(line);
    });
    const parentExited = new Promise((resolve) => parent!.once('exit', resolve));

    const courierPid = Number(
      (await eventually(async () => out.find((l) => l.startsWith('courier ')), 30_000, `the courier to start (${out.join(' | ')})`)).split(' ')[1],
    );
    // The message is on the wire and the sink holds its reply: the send is in flight.
    await eventually(async () => sink.arrived.length === 1, 10_000, 'DATA at the sink');
    parent.kill('SIGKILL');
    await parentExited;
    expect(isAlive(courierPid)).toBe(true);
    expect(await ledgered(key)).toBe(false);

    sink.release();
    await eventually(async () => ledgered(key), 10_000, 'the sent-ledger row');
    expect(await waitForExit(courierPid, 10_000)).toBe(true);
    expect(sink.accepted).toEqual(sink.arrived);
    expect(sink.accepted).toHaveLength(1);
    await eventually(async () => courierLog.some((r) => r.event === 'courier.stopped'), 5_000, 'courier.stopped');
    expect(courierLog.find((r) => r.event === 'courier.orphaned')).toMatchObject({ reason: 'disconnect', in_flight: 1, courier_pid: courierPid });
    expect(courierLog.find((r) => r.event === 'courier.send_finished')).toMatchObject({ outcome: 'sent', job_id: 'wf-held', name: 'held_mail', capability: 'email.send' });
    // Nothing secret in what it said: no database URL, no password.
    expect(JSON.stringify(courierLog)).not.toMatch(/postgres(ql)?:\/\//);
  } finally {
    if (parent && parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
    sink.release();
    await sink.close();
  }
}, 60_000);

describe('a courier started by this process', () => {
  let sink: HoldingSink;
  let http: Server;
  let httpPort: number;
  const httpHits: Array<{ url: string; key: string | undefined }> = [];
  const lookups: string[] = [];
  let courier: Courier;
  const logs = createMemoryLogger();

  beforeAll(async () => {
    sink = await startHoldingSink();
    sink.release();
    http = createServer((req, res) => {
      httpHits.push({ url: req.url ?? '/', key: req.headers['idempotency-key'] as string | undefined });
      req.resume();
      if (req.url === '/busy') res.writeHead(503, { 'retry-after': '7' }).end('busy');
      else if (req.url === '/gone') res.writeHead(410).end('gone');
      else res.writeHead(200).end('ok');
    });
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    httpPort = (http.address() as AddressInfo).port;
    courier = createCourier({
      config: { email: { host: '127.0.0.1', port: sink.port, from: 'shop@courier.test', tls: false }, http: { allow: ['127.0.0.1'], timeoutMs: 5000 } },
      pool: db.pool,
      logger: logs,
      // The worker's DNS stub: the courier must ask it (over IPC) rather than the system resolver.
      lookup: async (hostname): Promise<ResolvedAddress[]> => {
        lookups.push(hostname);
        if (hostname === 'sink.courier.test') return [{ address: '127.0.0.1', family: 4 }];
        if (hostname === 'internal.courier.test') return [{ address: '10.0.0.1', family: 4 }];
        throw Object.assign(new Error(`no such host ${hostname}`), { code: 'ENOTFOUND' });
      },
    });
    await courier.start();
  });

  afterAll(async () => {
    await courier?.close();
    await sink?.close();
    await new Promise((r) => http?.close(r));
  });

  const ctx = (key: string) => ({ idempotencyKey: key, job: 'courier_test', workflowId: `wf-${key}`, attempt: 1 });
  const post = (url: string, key: string) => courier.provider('http').execute({ capability: 'http.post', url, body: { n: 1 } }, ctx(key));
  /** The error a send failed with; a send that succeeded fails the test. */
  const failure = (p: Promise<unknown>) =>
    p.then(
      (result) => {
        throw new Error(`expected a failure, got ${JSON.stringify(result)}`);
      },
      (err: unknown) => err as Error & Record<string, unknown>,
    );

  test('sends email and HTTP, and records each in the sent-ledger itself', async () => {
    const http = courier.provider('http');
    expect(http.recordsSent).toBe(true);
    expect(courier.provider('email').recordsSent).toBe(true);
    const mailed = await courier.provider('email').execute({ capability: 'email.send', to: 'a@courier.test', subject: 'hi', text: 'hello' }, ctx('k-mail'));
    expect(mailed).toEqual({ capability: 'email.send', detail: { messageId: '<k-mail@forge-jobs>', accepted: 1 } });
    // Bytes cross as bytes (structured clone), not as an object of indices.
    const posted = await http.execute({ capability: 'http.post', url: `http://sink.courier.test:${httpPort}/orders/1`, body: new Uint8Array([104, 105]) }, ctx('k-post'));
    expect(posted).toEqual({ capability: 'http.post', detail: { status: 200 } });
    expect(httpHits.at(-1)).toEqual({ url: '/orders/1', key: 'k-post' });
    expect(await ledgered('k-mail')).toBe(true);
    expect(await ledgered('k-post')).toBe(true);
    expect(lookups).toContain('sink.courier.test');
  });

  test('errors cross the process boundary with their class, code, retry delay and fields', async () => {
    sink.refuse.add('nobody@courier.test');
    const rejected = await failure(courier.provider('email').execute({ capability: 'email.send', to: 'nobody@courier.test', subject: 'x', text: 'y' }, ctx('k-550')));
    expect(rejected).toBeInstanceOf(PermanentError);
    expect(rejected).toMatchObject({ code: 'smtp_rejected', message: expect.stringMatching(/SMTP server refused the message: 550/) });

    const busy = await failure(post(`http://127.0.0.1:${httpPort}/busy`, 'k-busy'));
    expect(busy).toBeInstanceOf(TransientError);
    expect(busy).toMatchObject({ name: 'HttpTransientStatusError', code: 'http_status', retryAfterMs: 7000, status: 503 });

    const gone = await failure(post(`http://127.0.0.1:${httpPort}/gone`, 'k-gone'));
    expect(gone).toBeInstanceOf(PermanentError);
    expect(gone).toMatchObject({ name: 'HttpStatusError', code: 'http_status', status: 410 });

    const invalid = await failure(courier.provider('email').execute({ capability: 'email.send', to: 'a@courier.test', subject: 'a\r\nBcc: b@courier.test' }, ctx('k-crlf')));
    expect(invalid).toBeInstanceOf(PermanentError);
    expect(invalid.message).toMatch(/subject contains a line break/);

    // None of them was sent, so none is in the ledger.
    for (const key of ['k-550', 'k-busy', 'k-gone', 'k-crlf']) expect(await ledgered(key)).toBe(false);
  });

  test("the worker's DNS stub answers the courier's lookups, and the guard refuses in the courier before any connect", async () => {
    const hitsBefore = httpHits.length;
    const refused = await failure(post(`http://internal.courier.test:${httpPort}/admin`, 'k-ssrf'));
    expect(refused).toBeInstanceOf(PermanentError);
    expect(refused).toMatchObject({ name: 'SsrfRefusedError', code: 'ssrf_refused', address: '10.0.0.1' });
    expect(refused.message).toMatch(/refused to connect to internal\.courier\.test \(10\.0\.0\.1\): private/);
    expect(lookups).toContain('internal.courier.test');

    // The stub's own error (with its code) reaches the HTTP provider in the courier, which classifies it.
    const unknown = await failure(post(`http://nowhere.courier.test:${httpPort}/`, 'k-dns'));
    expect(unknown).toBeInstanceOf(TransientError);
    expect(unknown).toMatchObject({ code: 'network', message: expect.stringMatching(/ENOTFOUND no such host nowhere\.courier\.test/) });
    expect(httpHits.length).toBe(hitsBefore);
  });

  test('a courier that dies mid-send fails that send as transient, and the next send starts a new one', async () => {
    const first = courier.pid()!;
    sink.holding = true;
    const held = failure(courier.provider('email').execute({ capability: 'email.send', to: 'a@courier.test', subject: 'lost', text: 'x' }, ctx('k-lost')));
    await eventually(async () => sink.arrived.includes('<k-lost@forge-jobs>'), 10_000, 'DATA at the sink');
    process.kill(first, 'SIGKILL');
    const lost = await held;
    expect(lost).toBeInstanceOf(TransientError);
    expect(lost).toMatchObject({ code: 'courier_lost' });
    expect(logs.records.find((r) => r.event === 'courier.exited')).toMatchObject({ pid: first, signal: 'SIGKILL', in_flight: 1 });
    sink.release();

    const again = await courier.provider('email').execute({ capability: 'email.send', to: 'a@courier.test', subject: 'again', text: 'x' }, ctx('k-again'));
    expect(again.detail).toMatchObject({ messageId: '<k-again@forge-jobs>' });
    expect(courier.pid()).not.toBe(first);
    expect(isAlive(courier.pid()!)).toBe(true);
  });

  test('close lets the courier exit and leaves no process behind', async () => {
    const pid = courier.pid()!;
    await courier.close();
    expect(await waitForExit(pid, 5_000)).toBe(true);
    await expect(post(`http://127.0.0.1:${httpPort}/`, 'k-closed')).rejects.toMatchObject({ code: 'courier_unavailable' });
  });
});
