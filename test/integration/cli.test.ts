/**
 * The built CLI (node bin/forge-jobs.js) against the run's dev server and a helpdesk database: help, migrate,
 * explain, replay, setup, relay, and one clear line with exit code 1 on bad input.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES, writeOutboxEvent } from '../../src/admin';
import { jobWorkflowId } from '../../src/outbox/event';
import { listCustomSearchAttributes } from '../../src/temporal/register';
import type { TestDatabase } from '../support/db';
import { BIN, ROOT, address, cliEnv, ensureBuilt, expectOneLineError, run } from '../support/cli';
import { HELPDESK, helpdeskDatabase } from '../support/helpdesk';

const HISTORIES = join(ROOT, 'test', 'histories');
const ARTIFACT = join(HELPDESK, 'artifact.json');
const CONFIG = join(HELPDESK, 'forge.runtime.toml');

const ACME = '10000000-0000-4000-8000-000000000001';
const TICKET = {
  id: '40000000-0000-4000-8000-000000000001',
  subject: 'Cannot log in',
  org_id: ACME,
  author_id: '20000000-0000-4000-8000-000000000004',
};
// The compiler's schema stores Organization.members as organizations.members_id: Acme's one member is Alice.
const ALICE = '20000000-0000-4000-8000-000000000002';

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
  expect(rows.map((r) => r.table_name)).toEqual(['backfills', 'dead_targets', 'effect_ledger', 'migrations', 'outbox']);
});

describe('explain', () => {
  const args = () => [
    'explain',
    'notify_agents',
    '--artifact',
    ARTIFACT,
    '--config',
    CONFIG,
    '--database',
    db.url,
    '--record',
    JSON.stringify(TICKET),
  ];

  test('prints per hop the storage, one SQL statement with values only as parameters, and the agents as targets', async () => {
    const result = await run(args());
    expect(result.stderr).not.toMatch(/^forge-jobs/m);
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n');
    const hops = lines.filter((l) => /^hop \d+ /.test(l));
    const sql = lines.filter((l) => /^\s+SELECT /.test(l));
    expect(hops).toEqual(['hop 1  Ticket.org', 'hop 2  Organization.members']);
    expect(lines.filter((l) => /^\s+storage /.test(l))).toEqual([
      '  storage tickets.org_id → organizations.id (from the artifact)',
      '  storage organizations.members_id → users.id (from the migration; one target per source row)',
    ]);
    expect(sql).toHaveLength(2);
    for (const statement of sql) {
      expect(statement).toContain('= ANY($1)');
      // no literal of any kind: not the record's ids, not the filter's enum value
      expect(statement).not.toContain(ACME);
      expect(statement).not.toContain(ALICE);
      expect(statement).not.toContain(TICKET.id);
      expect(statement).not.toMatch(/'/);
    }
    expect(sql[1]).toMatch(/"role" = \$2/);
    expect(lines).toContain(`  $1 = ["${ACME}"]`);
    expect(lines).toContain(`  $1 = ["${ALICE}"]`);
    expect(lines).toContain('  $2 = "agent"');
    expect(result.stdout).toMatch(/1 target \(User\)/);
    expect(result.stdout).toContain(ALICE);
    expect(result.stdout).toContain('alice.agent@acme.test');
    expect(result.stdout).not.toMatch(/bob\.agent|customer@|globex/);
  });

  test('--json is machine-readable', async () => {
    const result = await run([...args(), '--json']);
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout);
    expect(out).toMatchObject({
      job: 'notify_agents',
      inputEntity: 'Ticket',
      targetEntity: 'User',
      queries: 2,
      capabilities: ['email.send'],
    });
    expect(out.hops.map((h: { hop: string }) => h.hop)).toEqual(['Ticket.org', 'Organization.members']);
    expect(out.hops[0]).toMatchObject({ values: [[ACME]], rowCount: 1 });
    expect(out.hops[1]).toMatchObject({
      storage: 'organizations.members_id → users.id (from the migration; one target per source row)',
      values: [[ALICE], 'agent'],
      rowCount: 1,
    });
    expect(out.targets.map((t: { id: string }) => t.id)).toEqual([ALICE]);
  });

  test('explain of a job refused at load says why', async () => {
    const result = await run([
      'explain',
      'log_ticket_created',
      '--artifact',
      ARTIFACT,
      '--config',
      CONFIG,
      '--database',
      db.url,
      '--record',
      JSON.stringify(TICKET),
    ]);
    expectOneLineError(
      result,
      'explain',
      /job log_ticket_created is refused: table activity_logs needs entity_id, org_id \(NOT NULL without a default/,
    );
  });
});

describe('replay', () => {
  const files = readdirSync(HISTORIES)
    .filter((f) => /^jobWorkflow_.*\.json$/.test(f))
    .sort();
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
    expectOneLineError(
      bad,
      'replay',
      /nondeterminism: .*'resolveSomethingElse'.*'resolveTargets'.*\(history event \d+ ActivityTaskScheduled\)/,
    );
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
      [
        BIN,
        'relay',
        '--artifact',
        ARTIFACT,
        '--config',
        CONFIG,
        '--database',
        db.url,
        '--address',
        address(),
        '--namespace',
        namespace,
        '--task-queue',
        `cli-relay-${randomBytes(3).toString('hex')}`,
      ],
      { cwd: ROOT, env: cliEnv() },
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.resume();
    const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
    try {
      await until(
        () => stderr.includes('relay running'),
        20000,
        () => stderr,
      );
      // what client.enqueue writes inside the app's transaction (row + NOTIFY)
      await writeOutboxEvent(db.pool, 'Ticket', 'create', TICKET, { eventId });
      await until(
        async () => (await db.pool.query('SELECT 1 FROM forge_jobs.outbox WHERE dispatched_at IS NOT NULL')).rowCount === 1,
        15000,
        () => stderr,
      );
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
    const result = await run(['replay', '--workflow-id', workflowId, '--address', address(), '--namespace', namespace], {
      timeoutMs: 45000,
    });
    expect(result.stderr).toContain(`fetching the history of ${workflowId}`);
    expect({ code: result.code, stdout: result.stdout }).toEqual({
      code: 0,
      stdout: expect.stringContaining(`ok  workflow ${workflowId}`),
    });
  }, 60_000);
});

describe('bad input exits 1 with one clear line', () => {
  const cases: Array<[string, string[], RegExp]> = [
    [
      'explain',
      ['explain', 'no_such_job', '--artifact', ARTIFACT, '--record', '{}'],
      /unknown job "no_such_job" \(the artifact's jobs: .*notify_agents/,
    ],
    ['explain', ['explain', 'notify_agents', '--artifact', ARTIFACT, '--record', '{"id": '], /--record is not valid JSON/],
    ['explain', ['explain', 'notify_agents', '--artifact', ARTIFACT, '--record', '[1]'], /--record must be a JSON object/],
    [
      'explain',
      ['explain', 'notify_agents', '--artifact', '/no/such/artifact.json', '--record', '{}'],
      /artifact not found: \/no\/such\/artifact\.json/,
    ],
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
