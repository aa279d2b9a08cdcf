import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { cacheDir as defaultCacheDir } from '../dev/cache-dir';
import { isAlive } from '../dev/process-tree';

/** The last Temporal CLI tag that `go install …@tag` can build (later tags carry replace directives). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

export interface FindTemporalCliOptions {
  /** Progress lines (the build takes minutes, so a person should see it move). Default: stderr. */
  log?: (line: string) => void;
  /** Build with `go install` when nothing is cached. Default true. */
  allowBuild?: boolean;
  /** Let the Temporal SDK download its CLI as a last resort (needs the internet). Default true. */
  allowDownload?: boolean;
  /** Overrides for tests; default process.env and FORGE_JOBS_CACHE_DIR / ~/.cache/forge-jobs. */
  env?: NodeJS.ProcessEnv;
  cacheDir?: string;
}

export class TemporalCliNotFoundError extends Error {
  constructor(readonly attempts: string[]) {
    super(
      [
        'No Temporal CLI found. Tried, in order:',
        ...attempts.map((attempt) => `  - ${attempt}`),
        'Fix one of these: install Go (https://go.dev/dl, then forge-jobs builds the CLI once, ~4 min),',
        'install the Temporal CLI (https://docs.temporal.io/cli) and put `temporal` on PATH,',
        'or set TEMPORAL_CLI_PATH to a temporal binary.',
      ].join('\n'),
    );
    this.name = 'TemporalCliNotFoundError';
  }
}

/** Where a `go install` build of the pinned tag is kept. */
export function cachedCliPath(cache: string = defaultCacheDir()): string {
  return join(cache, `temporal-${TEMPORAL_CLI_VERSION}`, 'temporal');
}

/**
 * The path of a Temporal CLI binary: TEMPORAL_CLI_PATH, then `temporal` on PATH, then a cached build,
 * then a fresh `go install` build (cached for next time), then the SDK's download.
 */
export async function findTemporalCli(options: FindTemporalCliOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const cache = options.cacheDir ?? defaultCacheDir(env);
  const attempts: string[] = [];

  const explicit = env.TEMPORAL_CLI_PATH;
  if (explicit) {
    // A wrong explicit setting is a mistake to report, not a reason to quietly pick another binary.
    if (await isExecutableFile(explicit)) return explicit;
    throw new Error(`TEMPORAL_CLI_PATH=${explicit} is not an executable file`);
  }
  attempts.push('TEMPORAL_CLI_PATH: not set');

  const onPath = await findOnPath('temporal', env);
  if (onPath) return onPath;
  attempts.push('`temporal` on PATH: not found');

  const cached = await findCached(cache);
  if (cached) return cached;
  attempts.push(`cached build ${cachedCliPath(cache)}: not there`);

  if (options.allowBuild !== false) {
    const go = await findGo(env);
    if (!go) {
      attempts.push('go install: Go is not installed (no `go` on PATH, GOROOT or /usr/local/go)');
    } else {
      try {
        return await withBuildLock(cache, log, async () => (await findCached(cache)) ?? buildWithGo(go, cache, env, log));
      } catch (error) {
        attempts.push(`go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}: ${(error as Error).message}`);
      }
    }
  } else {
    attempts.push('go install: not allowed (allowBuild: false)');
  }

  if (options.allowDownload !== false) {
    try {
      return await downloadWithSdk(cache, log);
    } catch (error) {
      attempts.push(`SDK download: ${(error as Error).message}`);
    }
  } else {
    attempts.push('SDK download: not allowed (allowDownload: false)');
  }

  throw new TemporalCliNotFoundError(attempts);
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return false;
    await access(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

async function findCached(cache: string): Promise<string | undefined> {
  const built = cachedCliPath(cache);
  if (await isExecutableFile(built)) return built;
  return findSdkDownload(sdkDownloadDir(cache));
}

async function findGo(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  const onPath = await findOnPath('go', env);
  if (onPath) return onPath;
  const candidates = [
    env.GOROOT ? join(env.GOROOT, 'bin', 'go') : undefined,
    '/usr/local/go/bin/go',
    '/usr/lib/go/bin/go',
    join(homedir(), 'sdk', 'go', 'bin', 'go'),
  ];
  for (const candidate of candidates) {
    if (candidate && (await isExecutableFile(candidate))) return candidate;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------------
// The build lock: two processes (say a CI step and a test run) must not both spend four minutes and
// write the same binary. The holder refreshes the lock's mtime; a lock whose holder died, or that went
// stale, is taken over.

const LOCK_REFRESH_MS = 15_000;
const LOCK_STALE_MS = 120_000;
const LOCK_POLL_MS = 1_000;

interface LockOwner {
  pid: number;
  host: string;
}

async function withBuildLock<T>(cache: string, log: (line: string) => void, work: () => Promise<T>): Promise<T> {
  await mkdir(cache, { recursive: true });
  const lockPath = join(cache, `temporal-${TEMPORAL_CLI_VERSION}.lock`);
  let announced = false;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(JSON.stringify({ pid: process.pid, host: hostname() } satisfies LockOwner));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const owner = await readLockOwner(lockPath);
    if (await isStale(lockPath, owner)) {
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (!announced) {
      log(`waiting for another process (pid ${owner?.pid ?? '?'}) that is building the Temporal CLI…`);
      announced = true;
    }
    await new Promise((resolve) => setTimeout(resolve, LOCK_POLL_MS));
  }

  const refresh = setInterval(() => {
    const now = new Date();
    utimes(lockPath, now, now).catch(() => undefined);
  }, LOCK_REFRESH_MS);
  refresh.unref();
  try {
    await removeAbandonedBuilds(cache);
    return await work();
  } finally {
    clearInterval(refresh);
    await unlink(lockPath).catch(() => undefined);
  }
}

async function readLockOwner(lockPath: string): Promise<LockOwner | undefined> {
  try {
    const parsed = JSON.parse(await readFile(lockPath, 'utf8')) as Partial<LockOwner>;
    return typeof parsed.pid === 'number' && typeof parsed.host === 'string' ? { pid: parsed.pid, host: parsed.host } : undefined;
  } catch {
    return undefined;
  }
}

async function isStale(lockPath: string, owner: LockOwner | undefined): Promise<boolean> {
  try {
    const info = await stat(lockPath);
    if (Date.now() - info.mtimeMs > LOCK_STALE_MS) return true;
  } catch {
    return true;
  }
  // A pid only means something on the host that wrote it (the cache may be shared over a network).
  return owner !== undefined && owner.host === hostname() && !isAlive(owner.pid);
}

/** Build directories left by a killed build; only called while holding the lock, so none is in use. */
async function removeAbandonedBuilds(cache: string): Promise<void> {
  for (const entry of await readdir(cache)) {
    if (entry.startsWith('.build-')) await rm(join(cache, entry), { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------

async function buildWithGo(go: string, cache: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<string> {
  // GOBIN is a scratch directory on the cache's filesystem, so the finished binary moves into place
  // with one rename: a build killed half-way never leaves a binary that looks usable.
  const buildDir = await mkdtemp(join(cache, '.build-'));
  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)}s`;
  log(`building the Temporal CLI ${TEMPORAL_CLI_VERSION} with ${go} (first time, ~4 min)…`);
  const ticker = setInterval(() => log(`building the Temporal CLI (first time, ~4 min)… ${elapsed()}`), 15_000);
  const tail: string[] = [];
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(go, ['install', `${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`], {
        env: { ...env, GOBIN: buildDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      for (const stream of [child.stdout, child.stderr]) {
        createInterface({ input: stream }).on('line', (line) => {
          tail.push(line);
          if (tail.length > 20) tail.shift();
          log(`[go] ${line}`);
        });
      }
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) {
      throw new Error(`go install exited with ${code}${tail.length ? `:\n${tail.join('\n')}` : ''}`);
    }
    const target = cachedCliPath(cache);
    await mkdir(join(target, '..'), { recursive: true });
    await chmod(join(buildDir, 'temporal'), 0o755);
    await rename(join(buildDir, 'temporal'), target);
    log(`built the Temporal CLI in ${elapsed()}: ${target}`);
    return target;
  } finally {
    clearInterval(ticker);
    await rm(buildDir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------

const SDK_DOWNLOAD_TIMEOUT_MS = 180_000;

function sdkDownloadDir(cache: string): string {
  return join(cache, 'sdk-download');
}

async function findSdkDownload(dir: string): Promise<string | undefined> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return undefined;
  }
  for (const entry of entries.sort().reverse()) {
    const candidate = join(dir, entry);
    if (entry.includes('temporal') && (await isExecutableFile(candidate))) return candidate;
  }
  return undefined;
}

/**
 * The SDK only exposes its download through starting an ephemeral server, so start one into the cache
 * directory, stop it, and keep the binary it fetched.
 */
async function downloadWithSdk(cache: string, log: (line: string) => void): Promise<string> {
  let testing: typeof import('@temporalio/testing');
  try {
    testing = await import('@temporalio/testing');
  } catch {
    throw new Error('@temporalio/testing is not installed');
  }
  const downloadDir = sdkDownloadDir(cache);
  await mkdir(downloadDir, { recursive: true });
  log('downloading the Temporal CLI through the Temporal SDK…');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${SDK_DOWNLOAD_TIMEOUT_MS / 1000}s`)), SDK_DOWNLOAD_TIMEOUT_MS);
  });
  try {
    const environment = await Promise.race([
      testing.TestWorkflowEnvironment.createLocal({
        server: { executable: { type: 'cached-download', downloadDir, ttl: '3650 days' } },
      }),
      timeout,
    ]);
    await environment.teardown();
  } finally {
    clearTimeout(timer);
  }
  const found = await findSdkDownload(downloadDir);
  if (!found) throw new Error(`the SDK download left no binary in ${downloadDir}`);
  return found;
}

// ---------------------------------------------------------------------------------------------------

/** `node scripts/provision-temporal.js [--no-build] [--no-download]`: pre-build for CI, print the path. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  try {
    const path = await findTemporalCli({
      allowBuild: !argv.includes('--no-build'),
      allowDownload: !argv.includes('--no-download'),
    });
    process.stdout.write(path + '\n');
    return 0;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
}
