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
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { sentKey } from '../../src/activities/sent-ledger';
import { createCourier, type Courier } from '../../src/courier';
import { isAlive, waitForExit } from '../../src/dev/process-tree';
import { PermanentError, TransientError } from '../../src/errors';
import { createMemoryLogger } from '../../src/log';
import type { ResolvedAddress } from '../../src/providers/ssrf';
import { migrate } from '../../src/sql/migrations';
import { COURIER_V8_FLAGS } from '../../src/v8-flags';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startHttpSink, startSmtpSink, type HttpSink, type SinkMail, type SmtpSink } from '../support/sinks';
import { eventually } from '../support/stack';

const ROOT = join(__dirname, '..', '..');

/** SMTP on 127.0.0.1 that holds every DATA reply until release() (a send caught in flight) and refuses `nobody@` at RCPT. */
const startHoldingSink = () =>
  startSmtpSink({ hold: true, rcpt: (address) => (refused.has(address) ? { code: 550, message: '5.1.1 no such mailbox' } : undefined) });
const refused = new Set<string>();
const ids = (mails: SinkMail[]) => mails.map((m) => m.messageId);

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
      [
        '-r',
        join(ROOT, 'bench', 'register.js'),
        join(ROOT, 'test', 'fixtures', 'courier-parent.ts'),
        JSON.stringify({ databaseUrl: db.url, smtpPort: sink.port, idempotencyKey: key }),
      ],
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
      (await eventually(async () => out.find((l) => l.startsWith('courier ')), 30_000, `the courier to start (${out.join(' | ')})`)).split(
        ' ',
      )[1],
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
    expect(ids(sink.messages)).toEqual(ids(sink.arrived));
    expect(sink.messages).toHaveLength(1);
    await eventually(async () => courierLog.some((r) => r.event === 'courier.stopped'), 5_000, 'courier.stopped');
    expect(courierLog.find((r) => r.event === 'courier.orphaned')).toMatchObject({
      reason: 'disconnect',
      in_flight: 1,
      courier_pid: courierPid,
    });
    expect(courierLog.find((r) => r.event === 'courier.send_finished')).toMatchObject({
      outcome: 'sent',
      job_id: 'wf-held',
      name: 'held_mail',
      capability: 'email.send',
    });
    // Nothing secret in what it said: no database URL, no password.
    expect(JSON.stringify(courierLog)).not.toMatch(/postgres(ql)?:\/\//);
  } finally {
    if (parent && parent.exitCode === null && parent.signalCode === null) parent.kill('SIGKILL');
    sink.release();
    await sink.close();
  }
}, 60_000);

describe('a courier started by this process', () => {
  let sink: SmtpSink;
  let http: HttpSink;
  const lookups: string[] = [];
  let courier: Courier;
  const logs = createMemoryLogger();

  beforeAll(async () => {
    sink = await startHoldingSink();
    sink.release();
    http = await startHttpSink({
      answer: ({ path }) => (path === '/busy' ? { status: 503, headers: { 'retry-after': '7' } } : path === '/gone' ? 410 : 200),
    });
    courier = createCourier({
      config: {
        email: { host: '127.0.0.1', port: sink.port, from: 'shop@courier.test', tls: false },
        http: { allow: ['127.0.0.1'], timeoutMs: 5000 },
      },
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
    await http?.close();
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
    const httpProvider = courier.provider('http');
    expect(httpProvider.recordsSent).toBe(true);
    expect(courier.provider('email').recordsSent).toBe(true);
    const mailed = await courier
      .provider('email')
      .execute({ capability: 'email.send', to: 'a@courier.test', subject: 'hi', text: 'hello' }, ctx('k-mail'));
    expect(mailed).toEqual({ capability: 'email.send', detail: { messageId: '<k-mail@forge-jobs>', accepted: 1 } });
    // Bytes cross as bytes (structured clone), not as an object of indices.
    const posted = await httpProvider.execute(
      { capability: 'http.post', url: `http://sink.courier.test:${http.port}/orders/1`, body: new Uint8Array([104, 105]) },
      ctx('k-post'),
    );
    expect(posted).toEqual({ capability: 'http.post', detail: { status: 200 } });
    expect(http.hits.at(-1)).toMatchObject({ path: '/orders/1', key: 'k-post' });
    expect(await ledgered('k-mail')).toBe(true);
    expect(await ledgered('k-post')).toBe(true);
    expect(lookups).toContain('sink.courier.test');
  });

  test('the courier runs with its V8 flags (a small young generation, heaps grown by less)', () => {
    const argv = readFileSync(`/proc/${courier.pid()!}/cmdline`, 'utf8').split('\0');
    for (const flag of COURIER_V8_FLAGS) expect(argv).toContain(flag);
  });

  test('errors cross the process boundary with their class, code, retry delay and fields', async () => {
    refused.add('nobody@courier.test');
    const rejected = await failure(
      courier.provider('email').execute({ capability: 'email.send', to: 'nobody@courier.test', subject: 'x', text: 'y' }, ctx('k-550')),
    );
    expect(rejected).toBeInstanceOf(PermanentError);
    expect(rejected).toMatchObject({ code: 'smtp_rejected', message: expect.stringMatching(/SMTP server refused the message: 550/) });

    const busy = await failure(post(`http://127.0.0.1:${http.port}/busy`, 'k-busy'));
    expect(busy).toBeInstanceOf(TransientError);
    expect(busy).toMatchObject({ name: 'HttpTransientStatusError', code: 'http_status', retryAfterMs: 7000, status: 503 });

    const gone = await failure(post(`http://127.0.0.1:${http.port}/gone`, 'k-gone'));
    expect(gone).toBeInstanceOf(PermanentError);
    expect(gone).toMatchObject({ name: 'HttpStatusError', code: 'http_status', status: 410 });

    const invalid = await failure(
      courier
        .provider('email')
        .execute({ capability: 'email.send', to: 'a@courier.test', subject: 'a\r\nBcc: b@courier.test' }, ctx('k-crlf')),
    );
    expect(invalid).toBeInstanceOf(PermanentError);
    expect(invalid.message).toMatch(/subject contains a line break/);

    // None of them was sent, so none is in the ledger.
    for (const key of ['k-550', 'k-busy', 'k-gone', 'k-crlf']) expect(await ledgered(key)).toBe(false);
  });

  test("the worker's DNS stub answers the courier's lookups, and the guard refuses in the courier before any connect", async () => {
    const hitsBefore = http.hits.length;
    const refused = await failure(post(`http://internal.courier.test:${http.port}/admin`, 'k-ssrf'));
    expect(refused).toBeInstanceOf(PermanentError);
    expect(refused).toMatchObject({ name: 'SsrfRefusedError', code: 'ssrf_refused', address: '10.0.0.1' });
    expect(refused.message).toMatch(/refused to connect to internal\.courier\.test \(10\.0\.0\.1\): private/);
    expect(lookups).toContain('internal.courier.test');

    // The stub's own error (with its code) reaches the HTTP provider in the courier, which classifies it.
    const unknown = await failure(post(`http://nowhere.courier.test:${http.port}/`, 'k-dns'));
    expect(unknown).toBeInstanceOf(TransientError);
    expect(unknown).toMatchObject({ code: 'network', message: expect.stringMatching(/ENOTFOUND no such host nowhere\.courier\.test/) });
    expect(http.hits.length).toBe(hitsBefore);
  });

  test('a courier that dies mid-send fails that send as transient, and the next send starts a new one', async () => {
    const first = courier.pid()!;
    sink.hold();
    const held = failure(
      courier.provider('email').execute({ capability: 'email.send', to: 'a@courier.test', subject: 'lost', text: 'x' }, ctx('k-lost')),
    );
    await eventually(async () => ids(sink.arrived).includes('<k-lost@forge-jobs>'), 10_000, 'DATA at the sink');
    process.kill(first, 'SIGKILL');
    const lost = await held;
    expect(lost).toBeInstanceOf(TransientError);
    expect(lost).toMatchObject({ code: 'courier_lost' });
    expect(logs.records.find((r) => r.event === 'courier.exited')).toMatchObject({ pid: first, signal: 'SIGKILL', in_flight: 1 });
    sink.release();

    const again = await courier
      .provider('email')
      .execute({ capability: 'email.send', to: 'a@courier.test', subject: 'again', text: 'x' }, ctx('k-again'));
    expect(again.detail).toMatchObject({ messageId: '<k-again@forge-jobs>' });
    expect(courier.pid()).not.toBe(first);
    expect(isAlive(courier.pid()!)).toBe(true);
  });

  test('close lets the courier exit and leaves no process behind', async () => {
    const pid = courier.pid()!;
    await courier.close();
    expect(await waitForExit(pid, 5_000)).toBe(true);
    await expect(post(`http://127.0.0.1:${http.port}/`, 'k-closed')).rejects.toMatchObject({ code: 'courier_unavailable' });
  });
});
