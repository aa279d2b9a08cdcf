/**
 * The shared stack of an integration run (see test/setup/global-setup.ts), and startTestStack: the one way a
 * test starts what it runs against, on that shared stack or on a Temporal of its own.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, Connection } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { Pool } from 'pg';
import { createJobClient, createJobInspector, createJobWorker, resolveRuntimeConfig } from '../../src';
import { createJobStarter } from '../../src/admin';
import type { Artifact } from '../../src/artifact/types';
import type { RuntimeConfig } from '../../src/config/types';
import type { JobHandler } from '../../src/effects/build';
import { createMemoryLogger } from '../../src/log';
import type { Provider } from '../../src/providers/types';
import { SA } from '../../src/names';
import type { JobPolicy } from '../../src/workflows/types';
import type { JobWorkerOptions } from '../../src/worker';
import { startEmbeddedPostgres, type EmbeddedPostgres, type EmbeddedPostgresOptions } from '../../src/dev/embedded-postgres';
import { findTemporalCli } from '../../src/dev/temporal-cli';
import { startTemporalDevServer, type TemporalDevServer, type TemporalDevServerOptions } from '../../src/dev/temporal-dev-server';
import { WORKER_V8_FLAGS } from '../../src/v8-flags';

export function temporalAddress(): string {
  const address = process.env.FORGE_TEST_TEMPORAL_ADDRESS;
  if (!address) throw new Error('integration tests need the global setup (run them through jest)');
  return address;
}

/** A task queue of its own per test, so tests share one server without crosstalk. */
export function uniqueQueue(name: string): string {
  return `test-${name.replace(/[^a-z0-9]+/gi, '-').toLowerCase()}-${randomBytes(3).toString('hex')}`;
}

export function testConfig(name: string, raw: Record<string, unknown> = {}): RuntimeConfig {
  const jobs = (raw.jobs as Record<string, unknown>) ?? {};
  return resolveRuntimeConfig(
    {
      ...raw,
      temporal: { address: temporalAddress(), ...((raw.temporal as object) ?? {}) },
      // Tests share two cores with a whole run: a start may take longer than the 500 ms default, and a
      // pipeline client has no database to hold the event meanwhile (the tests of the deadline set their own).
      jobs: { task_queue: uniqueQueue(name), start_deadline: '10s', ...jobs },
    },
    { environment: 'test', env: {} },
  );
}

let inspector: Promise<Client> | undefined;
/** A plain Temporal client for assertions on what the pipeline did. */
export function temporal(): Promise<Client> {
  inspector ??= Connection.connect({ address: temporalAddress() }).then((connection) => new Client({ connection }));
  return inspector;
}

type JobWorker = ReturnType<typeof createJobWorker>;
type MemoryLogger = ReturnType<typeof createMemoryLogger>;

/**
 * Where a test stack's Temporal is: the run's shared dev server; a dev server of the stack's own, started and
 * stopped with it (`{ own: true, …options }`: for a UI with a codec endpoint, a server without the Forge search
 * attributes); or an own server the caller started with startOwnTemporal (and stops), e.g. one it kills.
 */
export type TestTemporal = 'shared' | ({ own: true } & OwnTemporalOptions) | OwnTemporal;

export interface TestStackOptions {
  artifact: Artifact | string | object;
  /** the pipeline's config (testConfig); on a Temporal of the stack's own, [temporal] address is that server's */
  config: RuntimeConfig;
  /** the app's database, and the worker's unless `worker.database` says otherwise */
  pool?: Pool;
  /** default 'shared' */
  temporal?: TestTemporal;
  /**
   * The first worker. In this process (default): createJobWorker options over the stack's (artifact, config,
   * pool, logger, the run's workflow bundle). 'process': the built CLI's `forge-jobs worker` on `files`, a
   * child process a test may kill. false: none yet (startWorker() and startWorkerProcess() start more).
   */
  worker?: false | 'process' | Partial<JobWorkerOptions>;
  /** the artifact and config files a worker process reads, and the file its output is appended to */
  files?: WorkerFiles;
  /** the app's client holds events in `pool`'s outbox when Temporal does not take a start in time */
  clientDatabase?: boolean;
  handlers?: Record<string, JobHandler>;
  providers?: Provider[];
  policy?: Partial<JobPolicy>;
  /** payload codecs for client, starter, inspector and worker (test/integration/codec.test.ts) */
  dataConverter?: DataConverter;
  /** false: email and HTTP sent in the worker's own process (JobWorkerOptions.courier) */
  courier?: false;
  /** the logger of every part (default a fresh memory logger) */
  logger?: MemoryLogger;
}

/** One way to start what a test runs against: Temporal, the worker, and the app's client, starter and inspector. */
export interface TestStack {
  config: RuntimeConfig;
  /** host:port of the stack's Temporal */
  address: string;
  /** the stack's own dev server, when it has one (the running one, after a restart) */
  readonly server?: TemporalDevServer;
  client: ReturnType<typeof createJobClient>;
  /** the relay's start path on the stack's task queue */
  starter: ReturnType<typeof createJobStarter>;
  inspector: ReturnType<typeof createJobInspector>;
  /** the first worker (undefined with `worker: false` until startWorker()) */
  worker: JobWorker;
  logs: MemoryLogger['records'];
  /** the stack's own Temporal, when it has one: restartable */
  own?: OwnTemporal;
  /** one more in-process worker (stopped with the stack, or by the returned stop) */
  startWorker(options?: Partial<JobWorkerOptions>): Promise<{ worker: JobWorker; stop(): Promise<void> }>;
  /** one more worker process on `files` (stopped with the stack) */
  startWorkerProcess(): WorkerProcess;
  /** every JSON log line a worker process of the stack (or its courier) wrote */
  workerEvents: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

export async function startTestStack(options: TestStackOptions): Promise<TestStack> {
  const logger = options.logger ?? createMemoryLogger();
  const workers: Array<() => Promise<unknown>> = [];
  const stops: Array<() => Promise<unknown>> = [];
  /** the workers first, then the rest, the last started first; the first failure is thrown once all stopped */
  const stopAll = async () => {
    const failures: unknown[] = [];
    for (const s of [...workers.splice(0), ...stops.splice(0).reverse()]) await s().catch((err) => failures.push(err));
    if (failures.length > 0) throw failures[0];
  };
  try {
    let own: OwnTemporal | undefined;
    let config = options.config;
    if (options.temporal !== undefined && options.temporal !== 'shared') {
      if ('own' in options.temporal) {
        const { own: _own, ...serverOptions } = options.temporal;
        own = await startOwnTemporal(serverOptions);
        stops.push(() => own!.stop());
      } else {
        own = options.temporal;
      }
      config = { ...config, temporal: { ...config.temporal, address: own.address } };
    }
    const { artifact, dataConverter, policy } = options;
    const startWorker = async (overrides: Partial<JobWorkerOptions> = {}) => {
      const worker = createJobWorker({
        artifact,
        config,
        database: options.pool,
        handlers: options.handlers,
        providers: options.providers,
        logger,
        dataConverter,
        courier: options.courier,
        workflowBundle: { codePath: process.env.FORGE_TEST_WORKFLOW_BUNDLE! },
        ...overrides,
      });
      const running = worker.run();
      let stopped: Promise<void> | undefined;
      const stop = () => (stopped ??= (worker.shutdown(), running));
      workers.push(stop);
      await Promise.race([worker.ready, running]);
      return { worker, stop };
    };
    const workerEvents: Array<Record<string, unknown>> = [];
    const startProcess = () => {
      if (!options.files) throw new Error("a worker process needs the stack's files (artifact, config, log)");
      const proc = startWorkerProcess({ ...options.files, onEvent: (event) => workerEvents.push(event) });
      workers.push(() => proc.stop());
      return proc;
    };
    const first = options.worker === false || options.worker === 'process' ? undefined : await startWorker(options.worker);
    if (options.worker === 'process') await startProcess().ready;
    const database = options.clientDatabase ? options.pool : undefined;
    const client = createJobClient({ artifact, config, logger, policy, dataConverter, ...(database && { database }) });
    const starter = createJobStarter({ artifact, config, logger, policy, dataConverter });
    const inspector = createJobInspector({ config, dataConverter });
    // stopped last first: the client, the starter, the inspector, then the server
    stops.push(
      () => inspector.close(),
      () => starter.close(),
      () => client.close(),
    );
    const stack: TestStack = {
      config,
      address: config.temporal.address,
      get server() {
        return own?.server;
      },
      own,
      client,
      starter,
      inspector,
      worker: first?.worker as JobWorker,
      logs: logger.records,
      async startWorker(overrides) {
        const started = await startWorker(overrides);
        stack.worker ??= started.worker;
        return started;
      },
      startWorkerProcess: startProcess,
      workerEvents,
      stop: stopAll,
    };
    return stack;
  } catch (err) {
    await stopAll().catch(() => undefined);
    throw err;
  }
}

/** The Temporal CLI the global setup found (it starts the dev servers of stacks that have their own). */
export function temporalCli(): string {
  const cliPath = process.env.FORGE_TEST_TEMPORAL_CLI;
  if (!cliPath) throw new Error('integration tests need the global setup (run them through jest)');
  return cliPath;
}

export type OwnTemporalOptions = Omit<TemporalDevServerOptions, 'cliPath'> & {
  /** default the global setup's, else found (or built) as the dev stack finds it */
  cliPath?: string;
};

/**
 * A Temporal dev server of a test's (or the bench's) own. It starts again on the same ports, and with
 * `dbFilename` keeps its workflows across a stop or a kill -9.
 */
export interface OwnTemporal {
  /** the running server (a new one after each start) */
  readonly server: TemporalDevServer;
  readonly address: string;
  readonly port: number;
  readonly uiPort: number;
  stop(): Promise<void>;
  /** starts it again after stop(), on the same ports and file database */
  start(): Promise<void>;
  /** kill -9 (the process group) or a clean stop, then start() */
  restart(mode: 'kill9' | 'stop'): Promise<void>;
}

export async function startOwnTemporal(options: OwnTemporalOptions = {}): Promise<OwnTemporal> {
  const log = options.log ?? (() => undefined);
  const cliPath =
    options.cliPath ?? process.env.FORGE_TEST_TEMPORAL_CLI ?? (await findTemporalCli({ log: (line) => log(line), allowBuild: true }));
  const launch = (ports: { port?: number; uiPort?: number }) => startTemporalDevServer({ ...options, log, cliPath, ...ports });
  let server = await launch({ port: options.port, uiPort: options.uiPort });
  const port = Number(server.address.split(':').pop());
  const uiPort = Number(new URL(server.uiUrl).port);
  const own: OwnTemporal = {
    get server() {
      return server;
    },
    address: server.address,
    port,
    uiPort,
    stop: () => server.stop(),
    async start() {
      server = await launch({ port, uiPort });
    },
    async restart(mode) {
      if (mode === 'kill9') {
        const child = server.process;
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
        await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
      } else {
        await server.stop();
      }
      await own.start();
    },
  };
  return own;
}

/**
 * An embedded Postgres of a test's (or the bench's) own on a free port, in `dataDir` or else a fresh temp
 * data dir that stop() removes.
 */
export async function startOwnPostgres(options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgres> {
  if (options.dataDir) return startEmbeddedPostgres({ log: () => undefined, ...options });
  const dir = mkdtempSync(join(tmpdir(), 'forge-jobs-own-pg-'));
  chmodSync(dir, 0o755); // as root, the postgres user must traverse it
  const pg = await startEmbeddedPostgres({ log: () => undefined, ...options, dataDir: join(dir, 'data') });
  return {
    ...pg,
    async stop() {
      await pg.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface WorkerFiles {
  /** artifact.json and forge.runtime.toml, as `forge-jobs worker --artifact --config` reads them */
  artifact: string;
  config: string;
  /** the worker's (and its courier's) output, appended */
  log: string;
}

export interface WorkerProcess {
  child: ChildProcess;
  /** its executor started; rejects when it exits first */
  ready: Promise<void>;
  exited: Promise<number | null>;
  kill9(): Promise<void>;
  /** SIGTERM, then SIGKILL after 15 s */
  stop(): Promise<void>;
}

const ROOT = join(__dirname, '..', '..');

/**
 * The built CLI's worker (`node <WORKER_V8_FLAGS> bin/forge-jobs.js worker`, the Dockerfile's V8 flags) as a
 * child process, so a test can SIGKILL it in the middle of its effects. Its courier inherits its output: what a
 * courier says after its worker died is in onEvent too.
 */
export function startWorkerProcess(options: WorkerFiles & { onEvent(event: Record<string, unknown>): void }): WorkerProcess {
  const child = spawn(
    process.execPath,
    [...WORKER_V8_FLAGS, join(ROOT, 'bin', 'forge-jobs.js'), 'worker', '--artifact', options.artifact, '--config', options.config],
    {
      cwd: ROOT,
      env: { ...process.env, FORGE_LOG_LEVEL: 'info', FORGE_ENV: 'development', FORGE_CODEC_KEY: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const out = createWriteStream(options.log, { flags: 'a' });
  // An orphaned courier may still write after the log ended: that line is dropped, not a crash.
  out.on('error', () => undefined);
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  let open = 2;
  for (const stream of [child.stdout!, child.stderr!]) {
    stream.once('end', () => --open === 0 && out.end());
    createInterface({ input: stream }).on('line', (line) => {
      out.write(line + '\n');
      if (!line.startsWith('{')) return;
      try {
        const event = JSON.parse(line) as Record<string, unknown>;
        options.onEvent(event);
        if (event.event === 'executor.started') markReady();
      } catch {
        // not ours
      }
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const proc: WorkerProcess = {
    child,
    ready: Promise.race([
      ready,
      exited.then((code) => Promise.reject(new Error(`worker exited (${code}) before it was ready; see ${options.log}`))),
    ]),
    exited,
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  proc.ready.catch(() => undefined);
  return proc;
}

/** Waits for a workflow to close and returns its outcome without throwing. */
export async function outcome(workflowId: string): Promise<{ status: string; result?: unknown; failure?: string; state: string }> {
  const handle = (await temporal()).workflow.getHandle(workflowId);
  let result: unknown;
  let failure: string | undefined;
  try {
    result = await handle.result();
  } catch (err) {
    const e = err as { cause?: { message?: string }; message: string };
    failure = e.cause?.message ?? e.message;
  }
  const description = await handle.describe();
  const state = description.typedSearchAttributes.get(SA.state) as string;
  return { status: description.status.name, result, failure, state };
}

/** Waits until a condition holds (visibility is eventually consistent): polls, bounded, no fixed sleeps. */
export async function eventually<T>(fn: () => Promise<T | undefined | false>, timeoutMs = 20000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await fn();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not met within ${timeoutMs} ms${last ? `: ${(last as Error).message}` : ''}`);
}

/**
 * With FORGE_RECORD_HISTORIES=1, saves a finished workflow's history as a replay fixture
 * (test/histories/<workflowType>_<scenario>_<sdk>.json), exported by the Temporal CLI as every Temporal tool
 * writes it; otherwise does nothing.
 */
export async function recordHistory(
  scenario: string,
  workflowId: string,
  workflowType: 'jobWorkflow' | 'jobTargetsWorkflow' | 'jobPartWorkflow' = 'jobWorkflow',
): Promise<void> {
  if (process.env.FORGE_RECORD_HISTORIES !== '1') return;
  const { execFileSync } = await import('node:child_process');
  const { existsSync, readFileSync, writeFileSync } = await import('node:fs');
  const { join } = await import('node:path');
  const json = execFileSync(
    process.env.FORGE_TEST_TEMPORAL_CLI!,
    ['workflow', 'show', '--workflow-id', workflowId, '--address', temporalAddress(), '--output', 'json'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const sdk = require('@temporalio/worker/package.json').version as string;
  const dir = join(__dirname, '..', 'histories');
  const file = `${workflowType}_${scenario}_${sdk}.json`;
  writeFileSync(join(dir, file), json);
  // Replay needs the original workflow id (child ids derive from it); the history itself does not carry it.
  const manifest = join(dir, 'workflow-ids.json');
  const ids = existsSync(manifest) ? JSON.parse(readFileSync(manifest, 'utf8')) : {};
  ids[file] = workflowId;
  writeFileSync(manifest, JSON.stringify(ids, null, 2) + '\n');
}
