/** The built CLI (node bin/forge-jobs.js) run as a user would, with nothing from the developer's shell. */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(__dirname, '..', '..');
export const BIN = join(ROOT, 'bin', 'forge-jobs.js');

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function address(): string {
  const a = process.env.FORGE_TEST_TEMPORAL_ADDRESS;
  if (!a) throw new Error('integration tests need the global setup (run them through jest)');
  return a;
}

/** Environment of the spawned CLI: nothing from the developer's shell decides where it connects. */
export function cliEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, FORGE_LOG_LEVEL: 'warn', ...extra };
  for (const key of ['DATABASE_URL', 'TEMPORAL_ADDRESS', 'TEMPORAL_NAMESPACE', 'FORGE_RUNTIME_CONFIG', 'FORGE_ARTIFACT', 'FORGE_DEBUG']) {
    if (!(key in extra)) delete env[key];
  }
  return env;
}

export function run(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): Promise<Run> {
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
export function expectOneLineError(result: Run, command: string, pattern: RegExp): void {
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
export function ensureBuilt(): void {
  const built = join(ROOT, 'dist', 'cli', 'index.js');
  const newest = (dir: string): number =>
    Math.max(
      0,
      ...readdirSync(dir, { withFileTypes: true }).map((e) =>
        e.isDirectory() ? newest(join(dir, e.name)) : statSync(join(dir, e.name)).mtimeMs,
      ),
    );
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
