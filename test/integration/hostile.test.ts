/**
 * Hostile input on the real pipeline (Temporal dev server, Postgres, SMTP sink, HTTP sink on 127.0.0.1).
 *
 * What the unit tests already prove one function at a time (SSRF vectors with a connect spy, CR/LF in
 * headers, malformed artifacts and configs, hostile filter values per hop) is checked here end to end:
 * SQL-looking literals in a filter and in record values reach Postgres only as bind parameters; jobs aimed
 * at metadata or private addresses die with the guard's reason and no socket is ever opened to them; a
 * header injection dies permanently on its first attempt; oversized records, payloads and fan-outs are
 * refused with their size and limit.
 *
 * Belt and braces: for the whole file, net.Socket#connect refuses every destination that is not loopback,
 * in this process and in the worker's courier (the child process that makes the email and HTTP connects),
 * so even a guard that failed could not make a packet leave this machine; the test then asserts that the
 * guard, not this trap, is what refused.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createJobClient } from '../../src';
import { RecordTooLargeError } from '../../src/client';
import { startMailSink } from '../../src/dev/mail-sink';
import { createMemoryLogger } from '../../src/log';
import { compiled, artifact as newArtifact } from '../support/artifact-builder';
import { createTestDatabase, type TestDatabase } from '../support/db';
import { startHttpSink, type HttpSink } from '../support/sinks';
import { outcome, startTestStack, testConfig, type TestStack } from '../support/stack';

const INJECTION = "x'; DROP TABLE users; --";
const COMMENT = '/* */ OR 1=1 --';
const BODY = `${INJECTION} ${COMMENT} \\0 "; DELETE FROM notes; --`;

const SSRF_JOBS = ['ssrf_metadata', 'ssrf_private', 'ssrf_dns', 'ssrf_hex', 'ssrf_mapped'];
const artifact = compiled(
  newArtifact()
    .entity('Team', 'teams', ['name'])
    .entity('User', 'users', ['name', 'email', 'role'])
    .entity('Note', 'notes', ['body'])
    .entity('Audit', 'audits', ['what', 'note'])
    .many('Team', 'members', 'User', 'team_id')
    .single('Note', 'team', 'Team')
    .job('hostile_notify', 'Note', 'Note.team.members', {
      // Literals with quotes, semicolons and comments, in both quote styles, plus an escaped quote: raw, as a
      // hostile source would make the compiler write them.
      filter: `(((name == "x'; DROP TABLE users; --") || (name == '/* */ OR 1=1 --')) && (role != "a\\"; DELETE FROM users; --"))`,
    })
    .creates('hostile_audit', 'Note', 'Audit', { what: '"note"', note: 'data.body' })
    .job('ssrf_metadata', 'Note', '', { capabilities: ['http.post'] })
    .job('ssrf_private', 'Note', '', { capabilities: ['http.post'] })
    .job('ssrf_dns', 'Note', '', { capabilities: ['http.get'] })
    .job('ssrf_hex', 'Note', '', { capabilities: ['http.get'] })
    .job('ssrf_mapped', 'Note', '', { capabilities: ['http.get'] })
    .job('crlf_subject', 'Note', '')
    .job('big_email', 'Note', '')
    .job('big_http', 'Note', '', { capabilities: ['http.post'] })
    .job('runaway', 'Team', 'Team.members')
    .hook('Note', 'create', ['hostile_notify', 'hostile_audit'])
    .hook('Note', 'update', SSRF_JOBS)
    .hook('Note', 'delete', ['crlf_subject', 'big_email', 'big_http'])
    .hook('Team', 'create', ['runaway']),
);

const MAX_RECORD_BYTES = 16 * 1024;
const MAX_TARGETS = 3;

let db: TestDatabase;
let sink: Awaited<ReturnType<typeof startMailSink>>;
let http: HttpSink;
/** every connect this process attempted to a non-loopback destination (all refused by the trap) */
const outbound: string[] = [];
/** the same for the worker's courier process: one line per refused host, after a line saying the trap is in */
const courierOutbound = join(mkdtempSync(join(tmpdir(), 'forge-hostile-')), 'refused-connects');
const lookups: string[] = [];
let restoreConnect: () => void;
let savedEnv: { NODE_OPTIONS?: string; FORGE_TEST_CONNECT_TRAP?: string };
let stack: TestStack;
let client: TestStack['client'];
const logs = createMemoryLogger();

const connectTrap = join(__dirname, '..', 'support', 'connect-trap.js');
const { trapOutboundConnects } = require(connectTrap) as { trapOutboundConnects: (onRefused: (host: string) => void) => () => void };

beforeAll(async () => {
  restoreConnect = trapOutboundConnects((host) => outbound.push(host));
  // The courier forked by the worker below inherits this environment, and with it the same trap.
  savedEnv = { NODE_OPTIONS: process.env.NODE_OPTIONS, FORGE_TEST_CONNECT_TRAP: process.env.FORGE_TEST_CONNECT_TRAP };
  process.env.NODE_OPTIONS = `${process.env.NODE_OPTIONS ?? ''} --require ${connectTrap}`.trim();
  process.env.FORGE_TEST_CONNECT_TRAP = courierOutbound;
  db = await createTestDatabase('hostile');
  await db.pool.query(`
    CREATE TABLE teams (id serial PRIMARY KEY, name text);
    CREATE TABLE users (id serial PRIMARY KEY, team_id integer REFERENCES teams(id), name text, email text, role text);
    CREATE TABLE notes (id serial PRIMARY KEY, team_id integer REFERENCES teams(id), body text);
    CREATE TABLE audits (id serial PRIMARY KEY, what text, note text);
    INSERT INTO teams (name) VALUES ('Red'), ('Blue');`);
  await db.pool.query(
    `INSERT INTO users (team_id, name, email, role) VALUES
      (1, $1, 'inj@hostile.test', 'agent'),
      (1, $2, 'comment@hostile.test', 'agent'),
      (1, 'plain', 'plain@hostile.test', 'agent'),
      (1, 'Robert"); DROP TABLE users;--', 'bobby@hostile.test', 'agent'),
      (1, 'x', 'x@hostile.test', 'agent'),
      (2, $1, 'other-team@hostile.test', 'agent')`,
    [INJECTION, COMMENT],
  );
  sink = await startMailSink();
  http = await startHttpSink();
  const config = testConfig('hostile', {
    email: { host: '127.0.0.1', port: sink.smtpPort, from: 'jobs@hostile.test' },
    // Loopback is allowed for the payload test's sink; the refused addresses below are never allowed.
    http: { allow: ['127.0.0.1'] },
    jobs: {
      max_attempts: 3,
      timeout: '10s',
      max_record_bytes: MAX_RECORD_BYTES,
      max_targets: MAX_TARGETS,
      hostile_notify: { subject: 'Note: {{trigger.body}}', text: 'from {{trigger.body}}' },
      ssrf_metadata: { url: 'http://169.254.169.254/latest/meta-data/iam/security-credentials/' },
      ssrf_private: { url: 'http://10.0.0.1/internal/admin' },
      ssrf_dns: { url: 'http://metadata.hostile.test/computeMetadata/v1/' },
      ssrf_hex: { url: 'http://0xa9fea9fe/latest/' },
      ssrf_mapped: { url: 'http://[::ffff:a9fe:a9fe]/latest/' },
    },
  });
  stack = await startTestStack({
    artifact,
    config,
    pool: db.pool,
    logger: logs,
    // A name that resolves to the metadata address: the guard must refuse it after resolution, before connect.
    worker: {
      lookup: async (hostname) => {
        lookups.push(hostname);
        if (hostname === 'metadata.hostile.test') return [{ address: '169.254.169.254', family: 4 }];
        if (hostname === 'localhost') return [{ address: '127.0.0.1', family: 4 }];
        throw Object.assign(new Error(`no such host ${hostname}`), { code: 'ENOTFOUND' });
      },
    },
    handlers: {
      crlf_subject: () => ({ capability: 'email.send', to: 'victim@hostile.test', subject: 'Hello\r\nBcc: everyone@hostile.test' }),
      big_email: () => ({
        capability: 'email.send',
        to: 'victim@hostile.test',
        subject: 'big',
        text: 'a'.repeat(1024 * 1024 + 512 * 1024),
      }),
      big_http: () => ({ capability: 'http.post', url: `${http.url}/big`, body: 'b'.repeat(2 * 1024 * 1024) }),
    },
  });
  client = stack.client;
});

afterAll(async () => {
  await stack?.stop();
  await sink?.close();
  await http?.close();
  await db?.drop();
  restoreConnect?.();
  for (const [name, value] of Object.entries(savedEnv ?? {})) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
});

async function runAll(entity: string, operation: 'create' | 'update' | 'delete', row: Record<string, unknown>) {
  const started = await client.afterCommit(entity, operation, row);
  const results = await Promise.all(started.map(async (s) => ({ job: s.job, workflowId: s.workflowId, ...(await outcome(s.workflowId)) })));
  return Object.fromEntries(results.map((r) => [r.job, r]));
}

async function tablesIntact(): Promise<void> {
  const { rows } = await db.pool.query(
    `SELECT (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM teams)::int AS teams, (SELECT count(*) FROM notes)::int AS notes`,
  );
  expect(rows[0]).toEqual({ users: 6, teams: 2, notes: expect.any(Number) });
}

test('hostile filter literals and record values reach SQL only as parameters: right targets, verbatim values, tables intact', async () => {
  const { rows } = await db.pool.query('INSERT INTO notes (team_id, body) VALUES (1, $1) RETURNING *', [BODY]);
  const jobs = await runAll('Note', 'create', rows[0]);
  expect(jobs.hostile_notify.state).toBe('completed');
  expect(jobs.hostile_audit.state).toBe('completed');

  const mail = await sink.waitFor((m) => m.length >= 2, 10_000);
  // Exactly the two team-1 users whose names equal the hostile literals: not the look-alikes, not team 2.
  expect(mail.flatMap((m) => m.to).sort()).toEqual(['comment@hostile.test', 'inj@hostile.test']);
  for (const m of mail) expect(m.subject).toBe(`Note: ${BODY}`);

  const audit = await db.pool.query('SELECT what, note FROM audits');
  expect(audit.rows).toEqual([{ what: 'note', note: BODY }]);
  await tablesIntact();
});

test('a hostile value where a key belongs is a typed parameter: Postgres refuses it, nothing is injected', async () => {
  const before = sink.messages().length;
  const jobs = await runAll('Note', 'create', { id: 9001, team_id: '1 OR 1=1; DROP TABLE users; --', body: COMMENT });
  expect(jobs.hostile_notify.state).toBe('dead');
  expect(jobs.hostile_notify.failure).toMatch(/invalid input syntax for type integer/);
  expect(jobs.hostile_audit.state).toBe('completed');
  expect(sink.messages()).toHaveLength(before);
  const audit = await db.pool.query('SELECT note FROM audits WHERE note = $1', [COMMENT]);
  expect(audit.rows).toHaveLength(1);
  await tablesIntact();
});

test('HTTP jobs aimed at metadata and private addresses are dead with the guard reason, and nothing connects', async () => {
  const jobs = await runAll('Note', 'update', { id: 1, team_id: 1, body: 'ssrf' });
  const expected: Record<string, RegExp> = {
    ssrf_metadata: /refused to connect to 169\.254\.169\.254: link-local/,
    ssrf_private: /refused to connect to 10\.0\.0\.1: private/,
    ssrf_dns: /refused to connect to metadata\.hostile\.test \(169\.254\.169\.254\): link-local/,
    ssrf_hex: /refused to connect to 169\.254\.169\.254: link-local/,
    ssrf_mapped: /refused to connect to .*169\.254\.169\.254|refused to connect to \[?::ffff:a9fe:a9fe/,
  };
  for (const [job, reason] of Object.entries(expected)) {
    expect({ job, state: jobs[job].state }).toEqual({ job, state: 'dead' });
    expect(jobs[job].failure).toMatch(reason);
    expect(jobs[job].failure).toMatch(/\[http\] allow/);
  }
  // Each died permanently on its first attempt: exactly one job.failed line, marked permanent.
  for (const job of Object.keys(expected)) {
    const failed = logs.records.filter((r) => r.event === 'job.failed' && r.job_id === jobs[job].workflowId);
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ permanent: true, code: 'ssrf_refused' });
  }
  // The DNS name was resolved (stub) and refused after resolution; the trap never saw a single attempt.
  expect(lookups).toContain('metadata.hostile.test');
  expect(outbound).toEqual([]);
  const courierRecord = (existsSync(courierOutbound) ? readFileSync(courierOutbound, 'utf8') : '').split('\n').filter(Boolean);
  expect(courierRecord.filter((l) => l.startsWith('# trapped'))).not.toEqual([]);
  expect(courierRecord.filter((l) => !l.startsWith('# trapped'))).toEqual([]);
  expect(http.hits).toEqual([]);
});

test('CR/LF in an email subject from a handler: dead, permanent, one attempt, nothing sent', async () => {
  const before = sink.messages().length;
  const jobs = await runAll('Note', 'delete', { id: 2, team_id: 1, body: 'bye' });
  expect(jobs.crlf_subject.state).toBe('dead');
  expect(jobs.crlf_subject.failure).toMatch(/subject contains a line break/);
  const failed = logs.records.filter((r) => r.event === 'job.failed' && r.job_id === jobs.crlf_subject.workflowId);
  expect(failed).toHaveLength(1);
  expect(failed[0].permanent).toBe(true);

  // Oversized effect payloads, same event: permanent, naming the size and the limit; nothing reaches a sink.
  expect(jobs.big_email.state).toBe('dead');
  expect(jobs.big_email.failure).toMatch(/email\.send: the body \(text \+ html\) is 1572864 bytes, more than the limit 1048576/);
  expect(jobs.big_http.state).toBe('dead');
  expect(jobs.big_http.failure).toMatch(/http\.post: the request body is 2097152 bytes, more than the limit 1048576/);
  for (const job of ['big_email', 'big_http']) {
    const failures = logs.records.filter((r) => r.event === 'job.failed' && r.job_id === jobs[job].workflowId);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ permanent: true, code: 'payload_too_large' });
  }
  expect(sink.messages()).toHaveLength(before);
  expect(http.hits).toEqual([]);
});

test('a runaway fan-out past [jobs] max_targets dies with a clear reason and sends nothing', async () => {
  const before = sink.messages().length;
  const jobs = await runAll('Team', 'create', { id: 1, name: 'Red' });
  expect(jobs.runaway.state).toBe('dead');
  // Counted with LIMIT max_targets + 1 before any row is loaded: the count stops one past the limit.
  expect(jobs.runaway.failure).toMatch(
    `needs_limit: needs of job runaway reach more than ${MAX_TARGETS} targets ([jobs] max_targets = ${MAX_TARGETS}; counted ${MAX_TARGETS + 1} before stopping)`,
  );
  expect(sink.messages()).toHaveLength(before);
});

test('an oversized record never reaches Temporal: afterCommit logs hook.enqueue_failed with size and limit, enqueue throws in the transaction', async () => {
  const big = { id: 77, team_id: 1, body: 'z'.repeat(MAX_RECORD_BYTES) };
  const size = Buffer.byteLength(JSON.stringify(big));
  logs.records.length = 0;
  await expect(client.afterCommit('Note', 'create', big)).resolves.toEqual([]);
  const failed = logs.records.filter((r) => r.event === 'hook.enqueue_failed');
  expect(failed).toHaveLength(1);
  expect(failed[0]).toMatchObject({ entity: 'Note', operation: 'create', size_bytes: size, limit_bytes: MAX_RECORD_BYTES });
  expect(failed[0].error).toBe(
    `Note create: the record is ${size} bytes serialized, more than the limit ${MAX_RECORD_BYTES} ([jobs] max_record_bytes)`,
  );
  expect(logs.records.some((r) => r.event === 'hook.matched')).toBe(false);

  // The outbox path: the error is thrown inside the app's transaction, which rolls back here.
  const attempt = client.withTransaction(
    db.pool,
    async (tx, emit) => {
      const { rows } = await tx.query('INSERT INTO notes (team_id, body) VALUES (1, $1) RETURNING *', [big.body]);
      emit('Note', 'create', rows[0]);
    },
    { outbox: true },
  );
  await expect(attempt).rejects.toThrow(RecordTooLargeError);
  await expect(attempt).rejects.toThrow(/more than the limit 16384 \(\[jobs\] max_record_bytes\)/);
  const { rows } = await db.pool.query('SELECT count(*)::int AS n FROM notes WHERE body = $1', [big.body]);
  expect(rows[0].n).toBe(0);

  // Without the setting the default is 256 KiB: 200 KiB passes the check, 300 KiB does not.
  const defaults = createJobClient({ artifact, config: testConfig('hostile-default'), logger: logs });
  const tx = { query: async () => ({ rows: [{ id: '1' }], rowCount: 1 }) };
  await expect(defaults.enqueue(tx as never, 'Note', 'create', { id: 1, body: 'y'.repeat(300 * 1024) })).rejects.toThrow(
    /more than the limit 262144/,
  );
  await expect(defaults.enqueue(tx as never, 'Note', 'create', { id: 1, body: 'y'.repeat(200 * 1024) })).resolves.toBeDefined();
  await defaults.close();
});
