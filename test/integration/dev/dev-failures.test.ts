/**
 * `forge-jobs dev` at its edges: a part that fails to start stops every part already started and the
 * command exits non-zero with one line; the Temporal dev server never outlives whoever started it, even
 * when that process's whole group is killed with SIGKILL.
 */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isAlive } from '../../../src/dev/process-tree';
import { eventually } from '../../support/stack';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..', '..');
const cliPath = process.env.FORGE_TEST_TEMPORAL_CLI;
let cache: string;

beforeEach(() => {
  cache = mkdtempSync(join(tmpdir(), 'forge-dev-edges-'));
  chmodSync(cache, 0o755); // embedded Postgres runs as the postgres user when we are root
});
afterEach(() => rmSync(cache, { recursive: true, force: true }));

/** Processes (not zombies) whose command line mentions this test's cache dir. */
const leftovers = () =>
  execFileSync('ps', ['-eo', 'pid,stat,args'], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(cache) && !/\sZ/.test(line));

test('a part that fails to start stops the parts already started; dev exits 1 with one line', async () => {
  // A "temporal" that fails after a moment, while embedded Postgres starts beside it.
  const fake = join(cache, 'temporal');
  writeFileSync(fake, '#!/bin/sh\nsleep 1\necho "bind: address already in use" >&2\nexit 3\n');
  chmodSync(fake, 0o755);
  const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) =>
    execFile(
      process.execPath,
      ['bin/forge-jobs.js', 'dev'],
      { cwd: ROOT, env: { ...process.env, FORGE_JOBS_CACHE_DIR: cache, TEMPORAL_CLI_PATH: fake, DATABASE_URL: '' }, timeout: 90_000 },
      (err, _stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
    ),
  );
  expect(code).toBe(1);
  const errors = stderr.split('\n').filter((l) => l.startsWith('forge-jobs'));
  expect(errors).toHaveLength(1);
  expect(errors[0]).toMatch(/^forge-jobs dev: temporal server start-dev exited \(3\) before it was ready/);
  // Postgres had started (its data dir is in the cache): it is stopped again, nothing is left running
  expect(stderr).toMatch(/embedded Postgres ready/);
  await eventually(async () => leftovers().length === 0, 20_000);
});

(cliPath ? test : test.skip)('the Temporal dev server stops when the process group that started it is killed with SIGKILL', async () => {
  // Node 20 has no TypeScript of its own: load src through the same swc transform jest uses.
  const starter = `
    const { transformSync } = require('@swc/core');
    const { readFileSync } = require('node:fs');
    require.extensions['.ts'] = (m, f) => m._compile(transformSync(readFileSync(f, 'utf8'), {
      filename: f, module: { type: 'commonjs' }, jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    }).code, f);
    const { startTemporalDevServer } = require('./src/dev/temporal-dev-server.ts');
    startTemporalDevServer({ cliPath: process.argv[1], logFile: process.argv[2] }).then((s) => console.log('ready ' + s.process.pid));`;
  const logFile = join(cache, 'logs', 'temporal.log');
  const proc = spawn(process.execPath, ['-e', starter, cliPath!, logFile], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  const pid = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (d) => {
      out += d;
      const m = /ready (\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`starter exited ${code}`)));
  });
  expect(isAlive(pid)).toBe(true);
  process.kill(-proc.pid!, 'SIGKILL'); // the starter's whole group, as a terminal or a supervisor would
  await eventually(async () => !isAlive(pid), 20_000, 'the Temporal dev server to exit');
  // its output went to the file, not to the starter
  expect(existsSync(logFile)).toBe(true);
});
