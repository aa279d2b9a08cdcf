/**
 * What the Temporal CLI (./temporal-cli.ts) and the Temporal server (test/support/temporal-server.ts) share: finding Go,
 * a cross-process build lock in the cache directory, and a `go install` that only ever leaves finished
 * binaries in the cache.
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { cacheDir as defaultCacheDir } from './cache-dir';
import { isAlive } from './process-tree';

export type Log = (line: string) => void;

/** The defaults both finders share: process.env, progress on stderr, FORGE_JOBS_CACHE_DIR / ~/.cache/forge-jobs. */
export function provisionDefaults(options: { env?: NodeJS.ProcessEnv; log?: Log; cacheDir?: string }): {
  env: NodeJS.ProcessEnv;
  log: Log;
  cache: string;
} {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  return { env, log, cache: options.cacheDir ?? defaultCacheDir(env) };
}

export async function isExecutableFile(path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    if (!info.isFile()) return false;
    await access(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function findOnPath(name: string, env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** PATH first, then the places the Go installers put it, so a Go that is installed but not on PATH still counts. */
export async function findGo(env: NodeJS.ProcessEnv): Promise<string | undefined> {
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
// The build lock: two processes (say a CI step and a test run) must not both spend minutes and write
// the same binaries. The holder refreshes the lock's mtime; a lock whose holder died, or that went
// stale, is taken over.

const LOCK_REFRESH_MS = 15_000;
const LOCK_STALE_MS = 120_000;
const LOCK_POLL_MS = 1_000;

interface LockOwner {
  pid: number;
  host: string;
}

export interface BuildLockOptions {
  cache: string;
  /** File name of the lock inside the cache directory. */
  lockName: string;
  /** Scratch directories starting with this are left by a killed build and removed once the lock is held. */
  buildPrefix: string;
  /** What is being built, as it reads in a sentence: "the Temporal CLI". */
  label: string;
  log: Log;
}

export async function withBuildLock<T>(options: BuildLockOptions, work: () => Promise<T>): Promise<T> {
  const { cache, log } = options;
  await mkdir(cache, { recursive: true });
  const lockPath = join(cache, options.lockName);
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
      log(`waiting for another process (pid ${owner?.pid ?? '?'}) that is building ${options.label}…`);
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
    await removeAbandonedBuilds(cache, options.buildPrefix);
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

/** Only called while holding the lock, so no build directory with this prefix is in use. */
async function removeAbandonedBuilds(cache: string, prefix: string): Promise<void> {
  for (const entry of await readdir(cache)) {
    if (entry.startsWith(prefix)) await rm(join(cache, entry), { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------

export interface GoInstallOptions {
  go: string;
  /** `module/path@version` arguments to `go install`. */
  packages: string[];
  env: NodeJS.ProcessEnv;
  /** Working directory of `go install`; default this process's. */
  cwd?: string;
  cache: string;
  /** Prefix of the scratch GOBIN inside the cache; the same one withBuildLock clears. */
  buildPrefix: string;
  /** "the Temporal CLI", for the progress lines. */
  label: string;
  /** The first progress line's longer name: "the Temporal CLI v1.5.1". */
  title: string;
  /** How long a first build takes, roughly: "~4 min". */
  eta: string;
  /** Where the binaries end up. */
  targetDir: string;
  /** Binary names, moved into targetDir in this order. */
  binaries: string[];
  /** The path the final progress line names. */
  built: string;
  log: Log;
}

/** Runs `go install`, then moves the binaries into targetDir; a build takes minutes, so it reports progress. */
export async function goInstall(options: GoInstallOptions): Promise<void> {
  const { go, log, label, eta } = options;
  // GOBIN is a scratch directory on the cache's filesystem, so each finished binary moves into place
  // with one rename: a build killed half-way never leaves a binary that looks usable.
  const buildDir = await mkdtemp(join(options.cache, options.buildPrefix));
  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)}s`;
  log(`building ${options.title} with ${go} (first time, ${eta})…`);
  const ticker = setInterval(() => log(`building ${label} (first time, ${eta})… ${elapsed()}`), 15_000);
  const tail: string[] = [];
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(go, ['install', ...options.packages], {
        env: { ...options.env, GOBIN: buildDir },
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
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
    await mkdir(options.targetDir, { recursive: true });
    for (const name of options.binaries) {
      await chmod(join(buildDir, name), 0o755);
      await rename(join(buildDir, name), join(options.targetDir, name));
    }
    log(`built ${label} in ${elapsed()}: ${options.built}`);
  } finally {
    clearInterval(ticker);
    await rm(buildDir, { recursive: true, force: true });
  }
}
