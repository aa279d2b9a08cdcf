/**
 * Temporal's own server and its SQL schema tool, built once with `go install` and cached like the CLI
 * (src/temporal/provision.ts): the production profile runs the same server binary a cluster runs,
 * on PostgreSQL. The PostgreSQL schemas come from the server module and are copied next to the binaries,
 * so the cache keeps working after `go clean -modcache`.
 */
import { execFile, spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, chmod, cp, mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat, unlink, utimes } from 'node:fs/promises';
import { homedir, hostname } from 'node:os';
import { delimiter, join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { cacheDir as defaultCacheDir } from '../dev/cache-dir';
import { isAlive } from '../dev/process-tree';

export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
export const TEMPORAL_SERVER_MODULE = 'go.temporal.io/server';
export const TEMPORAL_SERVER_PACKAGES = {
  server: `${TEMPORAL_SERVER_MODULE}/cmd/server`,
  sql: `${TEMPORAL_SERVER_MODULE}/cmd/tools/sql`,
} as const;
/** Inside the module (and inside the cache directory): the PostgreSQL schemas, temporal/ and visibility/. */
export const POSTGRES_SCHEMA_SUBDIR = join('schema', 'postgresql', 'v12');

export interface TemporalServerBinaries {
  /** `server --root … --config … --env … start` */
  server: string;
  /** temporal-sql-tool */
  sql: string;
  /** …/schema/postgresql/v12, with temporal/versioned and visibility/versioned */
  schemaDir: string;
}

export interface FindTemporalServerOptions {
  log?: (line: string) => void;
  /** Build with `go install` when nothing is cached. Default true. */
  allowBuild?: boolean;
  env?: NodeJS.ProcessEnv;
  cacheDir?: string;
}

export class TemporalServerNotFoundError extends Error {
  constructor(readonly attempts: string[]) {
    super(
      [
        `No Temporal server ${TEMPORAL_SERVER_VERSION} found. Tried, in order:`,
        ...attempts.map((attempt) => `  - ${attempt}`),
        'Fix one of these: install Go (https://go.dev/dl; forge-jobs then builds the server once, ~2 min after the CLI),',
        `or build it yourself: GOBIN=<dir> go install ${TEMPORAL_SERVER_PACKAGES.server}@${TEMPORAL_SERVER_VERSION} ${TEMPORAL_SERVER_PACKAGES.sql}@${TEMPORAL_SERVER_VERSION}`,
        'and set TEMPORAL_SERVER_DIR to <dir> (it must hold `server` and `sql`).',
      ].join('\n'),
    );
    this.name = 'TemporalServerNotFoundError';
  }
}

/** Where the binaries of the pinned tag are kept: `server`, `sql` and a copy of the PostgreSQL schemas. */
export function cachedServerDir(cache: string = defaultCacheDir()): string {
  return join(cache, `temporal-server-${TEMPORAL_SERVER_VERSION}`);
}

/**
 * The server, the sql tool and the schemas: TEMPORAL_SERVER_DIR, then the cache, then a `go install` build
 * (cached for next time). The schemas come from the cache, else from the Go module cache (copied over).
 */
export async function findTemporalServer(options: FindTemporalServerOptions = {}): Promise<TemporalServerBinaries> {
  const env = options.env ?? process.env;
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const cache = options.cacheDir ?? defaultCacheDir(env);
  const attempts: string[] = [];

  const explicit = env.TEMPORAL_SERVER_DIR;
  if (explicit) {
    const found = await binariesIn(explicit);
    if (!found) throw new Error(`TEMPORAL_SERVER_DIR=${explicit} does not hold executable \`server\` and \`sql\` files`);
    return { ...found, schemaDir: await findSchemas(explicit, cache, env, log) };
  }
  attempts.push('TEMPORAL_SERVER_DIR: not set');

  const dir = cachedServerDir(cache);
  let binaries = await binariesIn(dir);
  if (!binaries) {
    attempts.push(`cached build ${dir}: not there`);
    if (options.allowBuild === false) {
      attempts.push('go install: not allowed (allowBuild: false)');
      throw new TemporalServerNotFoundError(attempts);
    }
    const go = await findGo(env);
    if (!go) {
      attempts.push('go install: Go is not installed (no `go` on PATH, GOROOT or /usr/local/go)');
      throw new TemporalServerNotFoundError(attempts);
    }
    try {
      binaries = await withBuildLock(cache, log, async () => (await binariesIn(dir)) ?? buildWithGo(go, cache, env, log));
    } catch (error) {
      attempts.push(`go install ${TEMPORAL_SERVER_PACKAGES.server}@${TEMPORAL_SERVER_VERSION}: ${(error as Error).message}`);
      throw new TemporalServerNotFoundError(attempts);
    }
  }
  return { ...binaries, schemaDir: await findSchemas(dir, cache, env, log) };
}

async function binariesIn(dir: string): Promise<{ server: string; sql: string } | undefined> {
  const server = join(dir, 'server');
  const sql = join(dir, 'sql');
  return (await isExecutableFile(server)) && (await isExecutableFile(sql)) ? { server, sql } : undefined;
}

async function isExecutableFile(path: string): Promise<boolean> {
  try {
    if (!(await stat(path)).isFile()) return false;
    await access(path, fsConstants.X_OK);
    return true;
  } catch {
    return false;
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function findGo(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir && (await isExecutableFile(join(dir, 'go')))) return join(dir, 'go');
  }
  for (const candidate of [env.GOROOT ? join(env.GOROOT, 'bin', 'go') : undefined, '/usr/local/go/bin/go', '/usr/lib/go/bin/go', join(homedir(), 'sdk', 'go', 'bin', 'go')]) {
    if (candidate && (await isExecutableFile(candidate))) return candidate;
  }
  return undefined;
}

/** The module's directory in the Go module cache (downloaded with `go mod download` when missing). */
async function moduleDir(go: string, env: NodeJS.ProcessEnv): Promise<string> {
  const run = promisify(execFile);
  const { stdout } = await run(go, ['env', 'GOMODCACHE'], { env });
  const dir = join(stdout.trim(), `${TEMPORAL_SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}`);
  if (!(await isDirectory(dir))) {
    await run(go, ['mod', 'download', `${TEMPORAL_SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}`], { env, cwd: homedir() });
  }
  return dir;
}

/** The schemas next to the binaries, else copied there (atomically) from the Go module cache. */
async function findSchemas(dir: string, cache: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<string> {
  const local = join(dir, POSTGRES_SCHEMA_SUBDIR);
  if (await isDirectory(join(local, 'temporal', 'versioned'))) return local;
  const cached = join(cachedServerDir(cache), POSTGRES_SCHEMA_SUBDIR);
  if (await isDirectory(join(cached, 'temporal', 'versioned'))) return cached;
  const go = await findGo(env);
  if (!go) {
    throw new Error(
      `the PostgreSQL schemas of the Temporal server are not in ${cached}, and Go is not installed to fetch them (${TEMPORAL_SERVER_MODULE}@${TEMPORAL_SERVER_VERSION}/${POSTGRES_SCHEMA_SUBDIR})`,
    );
  }
  const source = join(await moduleDir(go, env), POSTGRES_SCHEMA_SUBDIR);
  if (!(await isDirectory(source))) throw new Error(`the Temporal server module has no ${POSTGRES_SCHEMA_SUBDIR}: ${source}`);
  await mkdir(cachedServerDir(cache), { recursive: true });
  const scratch = await mkdtemp(join(cachedServerDir(cache), '.schema-'));
  try {
    await cp(source, scratch, { recursive: true });
    await mkdir(join(cached, '..'), { recursive: true });
    await rename(scratch, cached).catch(async (error: NodeJS.ErrnoException) => {
      // another process got there first
      if (!(await isDirectory(join(cached, 'temporal', 'versioned')))) throw error;
    });
    log(`copied the Temporal PostgreSQL schemas to ${cached}`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return cached;
}

// ---------------------------------------------------------------------------------------------------
// A build lock, as for the CLI: two processes must not both build and write the same binaries.

const LOCK_REFRESH_MS = 15_000;
const LOCK_STALE_MS = 120_000;

async function withBuildLock<T>(cache: string, log: (line: string) => void, work: () => Promise<T>): Promise<T> {
  await mkdir(cache, { recursive: true });
  const lockPath = join(cache, `temporal-server-${TEMPORAL_SERVER_VERSION}.lock`);
  let announced = false;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(JSON.stringify({ pid: process.pid, host: hostname() }));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    let owner: { pid?: number; host?: string } | undefined;
    try {
      owner = JSON.parse(await readFile(lockPath, 'utf8'));
    } catch {
      owner = undefined;
    }
    let stale = false;
    try {
      stale = Date.now() - (await stat(lockPath)).mtimeMs > LOCK_STALE_MS;
    } catch {
      stale = true;
    }
    if (stale || (owner?.host === hostname() && typeof owner.pid === 'number' && !isAlive(owner.pid))) {
      await unlink(lockPath).catch(() => undefined);
      continue;
    }
    if (!announced) {
      log(`waiting for another process (pid ${owner?.pid ?? '?'}) that is building the Temporal server…`);
      announced = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  const refresh = setInterval(() => {
    const now = new Date();
    utimes(lockPath, now, now).catch(() => undefined);
  }, LOCK_REFRESH_MS);
  refresh.unref();
  try {
    for (const entry of await readdir(cache)) {
      if (entry.startsWith('.build-server-')) await rm(join(cache, entry), { recursive: true, force: true });
    }
    return await work();
  } finally {
    clearInterval(refresh);
    await unlink(lockPath).catch(() => undefined);
  }
}

async function buildWithGo(go: string, cache: string, env: NodeJS.ProcessEnv, log: (line: string) => void): Promise<{ server: string; sql: string }> {
  // Built into a scratch GOBIN on the cache's filesystem, then renamed into place: a killed build never
  // leaves a binary that looks usable.
  const buildDir = await mkdtemp(join(cache, '.build-server-'));
  const started = Date.now();
  const elapsed = () => `${Math.round((Date.now() - started) / 1000)}s`;
  log(`building the Temporal server ${TEMPORAL_SERVER_VERSION} and its sql tool with ${go} (first time, ~2 min)…`);
  const ticker = setInterval(() => log(`building the Temporal server (first time, ~2 min)… ${elapsed()}`), 15_000);
  const tail: string[] = [];
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(
        go,
        ['install', `${TEMPORAL_SERVER_PACKAGES.server}@${TEMPORAL_SERVER_VERSION}`, `${TEMPORAL_SERVER_PACKAGES.sql}@${TEMPORAL_SERVER_VERSION}`],
        { env: { ...env, GOBIN: buildDir }, cwd: homedir(), stdio: ['ignore', 'pipe', 'pipe'] },
      );
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
    if (code !== 0) throw new Error(`go install exited with ${code}${tail.length ? `:\n${tail.join('\n')}` : ''}`);
    const target = cachedServerDir(cache);
    await mkdir(target, { recursive: true });
    // sql first: the server's presence is what callers check last
    for (const name of ['sql', 'server']) {
      await chmod(join(buildDir, name), 0o755);
      await rename(join(buildDir, name), join(target, name));
    }
    log(`built the Temporal server in ${elapsed()}: ${target}`);
    return { server: join(target, 'server'), sql: join(target, 'sql') };
  } finally {
    clearInterval(ticker);
    await rm(buildDir, { recursive: true, force: true });
  }
}

/** `node -e "require('./dist/temporal/server-provision').main()"`: pre-build for CI, print the directory. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  try {
    const found = await findTemporalServer({ allowBuild: !argv.includes('--no-build') });
    process.stdout.write(`${found.server}\n${found.sql}\n${found.schemaDir}\n`);
    return 0;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
}
