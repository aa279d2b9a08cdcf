/**
 * The built CLI (node bin/forge-jobs.js) against the run's dev server and a helpdesk database: help, migrate,
 * explain, replay, setup, relay, and one clear line with exit code 1 on bad input.
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES, writeOutboxEvent } from '../../src';
import { jobWorkflowId } from '../../src/client/ids';
import { listCustomSearchAttributes } from '../../src/temporal';
import type { TestDatabase } from '../helpers/db';
import { HELPDESK, helpdeskDatabase } from '../helpers/helpdesk';

const ROOT = join(__dirname, '..', '..');
const BIN = join(ROOT, 'bin', 'forge-jobs.js');
const HISTORIES = join(ROOT, 'test', 'histories');
const ARTIFACT = join(HELPDESK, 'artifact.json');
const CONFIG = join(HELPDESK, 'forge.runtime.toml');

const ACME = '10000000-0000-4000-8000-000000000001';
const TICKET = { id: '40000000-0000-4000-8000-000000000001', subject: 'Cannot log in', org_id: ACME, author_id: '20000000-0000-4000-8000-000000000004' };
const ACME_AGENTS = ['20000000-0000-4000-8000-000000000002', '20000000-0000-4000-8000-000000000003'];

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function address(): string {
  const a = process.env.FORGE_TEST_TEMPORAL_ADDRESS;
  if (!a) throw new Error('integration tests need the global setup (run them through jest)');
  return a;
}

/** Environment of the spawned CLI: nothing from the developer's shell decides where it connects. */
function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FORGE_LOG_LEVEL: 'warn', ...extra };
  for (const key of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'FORGE_RUNTIME_CONFIG', 'FORGE_ARTIFACT', 'FORGE_DEBUG']) {
    if (!(key in extra)) delete env[key];
  }
  return env;
}

function run(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: ROOT, env: cliEnv(options.env) });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`forge-jobs ${args.join(' ')} did not finish within ${options.timeoutMs ?? 30000} ms\n${stdout}\n${stderr}`));
    }, options.timeoutMs ?? 30000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Exit 1 and exactly one line on stderr, `forge-jobs <command>: …`. */
function expectOneLineError(result: Run, command: string, pattern: RegExp): void {
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 1, stderr: expect.any(String) });
  const lines = result.stderr.trim().split('\n');
  // progress lines may come before the error; the error itself is the last line and the only forge-jobs one
  const errors = lines.filter((l) => l.startsWith('forge-jobs'));
  expect(errors).toHaveLength(1);
  expect(lines[lines.length - 1]).toBe(errors[0]);
  expect(errors[0].startsWith(`forge-jobs ${command}: `)).toBe(true);
  expect(errors[0]).toMatch(pattern);
}

/** `npm run build` when dist is older than any source file, so the CLI under test is the current code. */
function ensureBuilt(): void {
  const built = join(ROOT, 'dist', 'cli', 'index.js');
  const newest = (dir: string): number =>
    Math.max(0, ...readdirSync(dir, { withFileTypes: true }).map((e) => (e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs)));
  let builtAt = 0;
  try {
    builtAt = statSync(built).mtimeMs;
  } catch {
    // not built yet
  }
  if (builtAt >= newest(join(ROOT, 'src'))) return;
  const result = spawnSync('npm', ['run', 'build'], { cwd: ROOT, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`npm run build failed:\n${result.stdout}\n${result.stderr}`);
}

let db: TestDatabase;
const namespace = `forge-cli-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  ensureBuilt();
  db = await helpdeskDatabase();
}, 120_000);

afterAll(async () => {
  await db?.drop();
});

test('every command has --help', async () => {
  const commands = ['', 'dev', 'worker', 'migrate', 'relay', 'explain', 'replay', 'setup', 'capture', 'backfill'];
  const results = await Promise.all(commands.map((c) => run([...(c ? [c] : []), '--help'])));
  results.forEach((r, i) => {
    expect({ command: commands[i], code: r.code }).toEqual({ command: commands[i], code: 0 });
    expect(r.stdout).toContain(`Usage: forge-jobs${commands[i] ? ` ${commands[i]}` : ''}`);
  });
  expect(results[0].stdout).toMatch(/explain[\s\S]*replay[\s\S]*setup/);
  expect(results[7].stdout).toMatch(/per namespace/);
});

test('migrate creates the forge_jobs tables, and a second run changes nothing', async () => {
  const first = await run(['migrate', '--database', db.url]);
  expect(first.code).toBe(0);
  expect(first.stdout).toMatch(/applied migrations? 1, 2/);
  const second = await run(['migrate', '--database', db.url, '--json']);
  expect(second.code).toBe(0);
  expect(JSON.parse(second.stdout)).toEqual({ applied: [] });
  const { rows } = await db.pool.query<{ table_name: string }>(
    "SELECT table_name FROM information_schema.tables WHERE table_schema = 'forge_jobs' ORDER BY table_name",
  );
  expect(rows.map((r) => r.table_name)).toEqual(['backfills', 'effect_ledger', 'migrations', 'outbox']);
});

describe('explain', () => {
  const args = () => ['explain', 'notify_agents', '--artifact', ARTIFACT, '--config', CONFIG, '--database', db.url, '--record', JSON.stringify(TICKET)];

  test('prints one SQL statement per hop with values only as parameters, and the agents as targets', async () => {
    const result = await run(args());
    expect(result.stderr).not.toMatch(/^forge-jobs/m);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    const hops = lines.filter((l) => /^hop \d+ /.test(l));
    const sql = lines.filter((l) => /^\s+SELECT /.test(l));
    expect(hops).toEqual(['hop 1  Ticket.org', 'hop 2  Organization.members']);
    expect(sql).toHaveLength(2);
    for (const statement of sql) {
      expect(statement).toContain('= ANY($1)');
      // no literal of any kind: not the record's ids, not the filter's enum value
      expect(statement).not.toContain(ACME);
      expect(statement).not.toContain(TICKET.id);
      expect(statement).not.toMatch(/'/);
    }
    expect(sql[1]).toMatch(/"role" = \$2/);
    expect(lines).toContain(`  $1 = ["${ACME}"]`);
    expect(lines).toContain('  $2 = "agent"');
    expect(result.stdout).toMatch(/2 targets \(User\)/);
    for (const id of ACME_AGENTS) expect(result.stdout).toContain(id);
    expect(result.stdout).toContain('alice.agent@acme.test');
    expect(result.stdout).toContain('bob.agent@acme.test');
    expect(result.stdout).not.toMatch(/customer@|globex/);
  });

  test('--json is machine-readable', async () => {
    const result = await run([...args(), '--json']);
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({ job: 'notify_agents', inputEntity: 'Ticket', targetEntity: 'User', queries: 2, capabilities: ['email.send'] });
    expect(out.hops.map((h: { hop: string }) => h.hop)).toEqual(['Ticket.org', 'Organization.members']);
    expect(out.hops[0]).toMatchObject({ values: [[ACME]], rowCount: 1 });
    expect(out.hops[1]).toMatchObject({ values: [[ACME], 'agent'], rowCount: 2 });
    expect(out.targets.map((t: { id: string }) => t.id)).toEqual(ACME_AGENTS);
  });
});

describe('replay', () => {
  const files = readdirSync(HISTORIES).filter((f) => /^jobWorkflow_.*\.json$/.test(f)).sort();
  const ids: Record<string, string> = JSON.parse(readFileSync(join(HISTORIES, 'workflow-ids.json'), 'utf8'));

  test('the committed histories replay; a tampered one exits 1 naming the mismatch', async () => {
    expect(files.length).toBeGreaterThan(0);
    const success = files.find((f) => f.includes('_success_')) ?? files[0];
    const tampered = join(mkdtempSync(join(tmpdir(), 'forge-cli-replay-')), 'tampered.json');
    const text = readFileSync(join(HISTORIES, success), 'utf8');
    expect(text).toContain('"resolveTargets"');
    writeFileSync(tampered, text.split('"resolveTargets"').join('"resolveSomethingElse"'));

    // all files in one run (one bundle); one with its id given explicitly; the tampered copy
    const [all, withId, bad] = await Promise.all([
      run(['replay', ...files.map((f) => join(HISTORIES, f))], { timeoutMs: 45000 }),
      run(['replay', join(HISTORIES, success), '--workflow-id', ids[success] ?? 'replay', '--json'], { timeoutMs: 45000 }),
      run(['replay', tampered], { timeoutMs: 45000 }),
    ]);
    expect({ code: all.code, stderr: all.stderr }).toEqual({ code: 0, stderr: expect.stringContaining('bundling workflows…') });
    for (const f of files) expect(all.stdout).toMatch(new RegExp(`^ok  .*${f.replace(/[.]/g, '\\.')}`, 'm'));
    expect(withId.code).toBe(0);
    expect(JSON.parse(withId.stdout)).toMatchObject({ ok: true, results: [{ ok: true, workflowId: ids[success] ?? 'replay' }] });
    expectOneLineError(bad, 'replay', /nondeterminism: .*'resolveSomethingElse'.*'resolveTargets'.*\(history event \d+ ActivityTaskScheduled\)/);
  }, 60_000);
});

describe('setup', () => {
  test('registers a new namespace with the search attributes and the retention; a second run changes nothing', async () => {
    const first = await run(['setup', '--address', address(), '--namespace', namespace]);
    expect(first.stderr).not.toMatch(/^forge-jobs/m);
    expect(first.code).toBe(0);
    expect(first.stdout).toContain(`namespace ${namespace} on ${address()}: created, retention 30d`);
    expect(first.stdout).toMatch(/ForgeJobState\s+Keyword\s+added/);

    const second = await run(['setup', '--address', address(), '--namespace', namespace, '--json']);
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout);
    expect(report).toMatchObject({ namespace, namespaceCreated: false, retention: { before: '30d', after: '30d', changed: false } });
    expect(report.searchAttributes.filter((a: { added: boolean }) => a.added)).toEqual([]);

    const connection = await Connection.connect({ address: address() });
    try {
      const attributes = await listCustomSearchAttributes(connection, namespace);
      for (const name of SEARCH_ATTRIBUTES) expect(attributes).toHaveProperty(name);
    } finally {
      await connection.close();
    }
  });
});

describe('relay', () => {
  // in the namespace setup created above, so the workflows it starts stay out of the other tests' way
  const eventId = `cli-${randomBytes(4).toString('hex')}`;

  test('dispatches committed outbox rows and stops on SIGTERM', async () => {
    const child = spawn(
      process.execPath,
      [BIN, 'relay', '--artifact', ARTIFACT, '--config', CONFIG, '--database', db.url, '--address', address(), '--namespace', namespace, '--task-queue', `cli-relay-${randomBytes(3).toString('hex')}`],
      { cwd: ROOT, env: cliEnv() },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await until(() => stderr.includes('relay running'), 20000, () => stderr);
      // what client.enqueue writes inside the app's transaction (row + NOTIFY)
      await writeOutboxEvent(db.pool, 'Ticket', 'create', TICKET, { eventId });
      await until(async () => (await db.pool.query('SELECT 1 FROM forge_jobs.outbox WHERE dispatched_at IS NOT NULL')).rowCount === 1, 15000, () => stderr);
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(stderr).toContain('SIGTERM: stopping the relay');
    expect(stderr).toContain('relay stopped');
    expect(stderr).not.toMatch(/^forge-jobs/m);
  });

  test('replay --workflow-id fetches the history of a workflow the relay started', async () => {
    const workflowId = jobWorkflowId({ job: 'notify_agents', entity: 'Ticket', operation: 'create', recordId: TICKET.id, eventId });
    const result = await run(['replay', '--workflow-id', workflowId, '--address', address(), '--namespace', namespace], { timeoutMs: 45000 });
    expect(result.stderr).toContain(`fetching the history of ${workflowId}`);
    expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 0, stdout: expect.stringContaining(`ok  workflow ${workflowId}`) });
  }, 60_000);
});

describe('bad input exits 1 with one clear line', () => {
  const cases: Array<[string, string[], RegExp]> = [
    ['explain', ['explain', 'no_such_job', '--artifact', ARTIFACT, '--record', '{}'], /unknown job "no_such_job" \(the artifact's jobs: .*notify_agents/],
    ['explain', ['explain', 'notify_agents', '--artifact', ARTIFACT, '--record', '{"id": '], /--record is not valid JSON/],
    ['explain', ['explain', 'notify_agents', '--artifact', ARTIFACT, '--record', '[1]'], /--record must be a JSON object/],
    ['explain', ['explain', 'notify_agents', '--artifact', '/no/such/artifact.json', '--record', '{}'], /artifact not found: \/no\/such\/artifact\.json/],
    ['explain', ['explain', 'notify_agents', '--artifact', ARTIFACT, '--record', '{}'], /no database: pass --database/],
    ['explain', ['explain', 'notify_agents', '--bogus'], /unknown option '--bogus' \(see forge-jobs explain --help\)/],
    ['replay', ['replay', '/no/such/history.json'], /history file not found: \/no\/such\/history\.json/],
    ['replay', ['replay', CONFIG], /is not valid JSON/],
    ['setup', ['setup', '--retention', 'forever'], /invalid retention "forever"/],
    ['migrate', ['migrate', '--config', '/no/such/forge.runtime.toml'], /invalid runtime config .*file not found/],
  ];

  test('unknown job, invalid --record, missing files, unknown options, bad values', async () => {
    const results = await Promise.all(cases.map(([, args]) => run(args)));
    results.forEach((result, i) => {
      const [command, args, pattern] = cases[i];
      try {
        expectOneLineError(result, command, pattern);
      } catch (err) {
        throw new Error(`forge-jobs ${args.join(' ')}:\n${(err as Error).message}`);
      }
    });
  });

  test('replay --workflow-id of a workflow the server does not have', async () => {
    const result = await run(['replay', '--workflow-id', 'no-such-workflow', '--address', address(), '--namespace', namespace]);
    expectOneLineError(result, 'replay', /workflow no-such-workflow not found in namespace forge-cli-/);
  });
});

async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, context: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms:\n${context()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
