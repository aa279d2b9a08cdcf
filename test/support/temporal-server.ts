/**
 * Temporal's own server and its SQL schema tool, built once with `go install` and cached like the CLI
 * (src/dev/temporal-cli.ts): the production profile runs the same server binary a cluster runs,
 * on PostgreSQL. The PostgreSQL schemas come from the server module and are copied next to the binaries,
 * so the cache keeps working after `go clean -modcache`.
 */
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, rename, rm, stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cacheDir as defaultCacheDir } from '../../src/dev/cache-dir';
import { findGo, goInstall, isExecutableFile, provisionDefaults, withBuildLock, type Log } from '../../src/dev/go-build';

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
  const { env, log, cache } = provisionDefaults(options);
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
      binaries = await withBuildLock(
        { cache, lockName: `temporal-server-${TEMPORAL_SERVER_VERSION}.lock`, buildPrefix: BUILD_PREFIX, label: LABEL, log },
        async () => (await binariesIn(dir)) ?? buildWithGo(go, cache, env, log),
      );
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

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
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
async function findSchemas(dir: string, cache: string, env: NodeJS.ProcessEnv, log: Log): Promise<string> {
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

const BUILD_PREFIX = '.build-server-';
const LABEL = 'the Temporal server';

async function buildWithGo(go: string, cache: string, env: NodeJS.ProcessEnv, log: Log): Promise<{ server: string; sql: string }> {
  const target = cachedServerDir(cache);
  await goInstall({
    go,
    packages: [
      `${TEMPORAL_SERVER_PACKAGES.server}@${TEMPORAL_SERVER_VERSION}`,
      `${TEMPORAL_SERVER_PACKAGES.sql}@${TEMPORAL_SERVER_VERSION}`,
    ],
    env,
    // outside any checkout, so a go.mod or go.work around the caller cannot interfere
    cwd: homedir(),
    cache,
    buildPrefix: BUILD_PREFIX,
    label: LABEL,
    title: `${LABEL} ${TEMPORAL_SERVER_VERSION} and its sql tool`,
    eta: '~2 min',
    targetDir: target,
    // sql first, so a `server` in the cache means both are there
    binaries: ['sql', 'server'],
    built: target,
    log,
  });
  return { server: join(target, 'server'), sql: join(target, 'sql') };
}
