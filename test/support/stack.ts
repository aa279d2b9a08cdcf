/**
 * The shared stack of an integration run (see test/setup/global-setup.ts), and startTestStack: the one way a
 * test starts what it runs against, on that shared stack or on a Temporal of its own.
 */
import { randomBytes } from 'node:crypto';
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
import { startTemporalDevServer, type TemporalDevServer, type TemporalDevServerOptions } from '../../src/dev/temporal-dev-server';

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

/** Where a test stack's Temporal is: the run's shared dev server, or a dev server of its own. */
export type TestTemporal = 'shared' | OwnTemporal;

/** A dev server of the stack's own (stopped with it): for a UI with a codec endpoint, a server without the
 * Forge search attributes, or one a test may kill (then give `dbFilename` so that it can start again). */
export type OwnTemporal = { own: true } & Omit<TemporalDevServerOptions, 'cliPath'>;

export interface TestStackOptions {
  artifact: Artifact | string | object;
  /** the pipeline's config (testConfig); on a Temporal of the stack's own, [temporal] address is that server's */
  config: RuntimeConfig;
  /** the app's database, and the worker's unless `worker.database` says otherwise */
  pool?: Pool;
  /** default 'shared' */
  temporal?: TestTemporal;
  /**
   * The worker, in this process: createJobWorker options over the stack's (artifact, config, pool, logger,
   * the run's workflow bundle); false: none yet (startWorker() starts one). Default {}.
   */
  worker?: false | Partial<JobWorkerOptions>;
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
  /** the stack's own dev server, when it has one */
  server?: TemporalDevServer;
  client: ReturnType<typeof createJobClient>;
  /** the relay's start path on the stack's task queue */
  starter: ReturnType<typeof createJobStarter>;
  inspector: ReturnType<typeof createJobInspector>;
  /** the first worker (undefined with `worker: false` until startWorker()) */
  worker: JobWorker;
  logs: MemoryLogger['records'];
  /** one more in-process worker (stopped with the stack, or by the returned stop) */
  startWorker(options?: Partial<JobWorkerOptions>): Promise<{ worker: JobWorker; stop(): Promise<void> }>;
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
    let server: TemporalDevServer | undefined;
    let config = options.config;
    if (options.temporal !== undefined && options.temporal !== 'shared') {
      const { own: _own, ...serverOptions } = options.temporal;
      server = await startTemporalDevServer({ cliPath: temporalCli(), log: () => undefined, ...serverOptions });
      stops.push(() => server!.stop());
      config = { ...config, temporal: { ...config.temporal, address: server.address } };
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
    const first = options.worker === false ? undefined : await startWorker(options.worker);
    const client = createJobClient({ artifact, config, logger, policy, dataConverter });
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
      server,
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
