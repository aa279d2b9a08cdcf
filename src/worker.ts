/**
 * The worker: polls the task queue, runs jobWorkflow and its activities. Several workers on one queue share
 * the work; any may die, since Temporal hands its tasks to another.
 */
import {
  DefaultLogger,
  NativeConnection,
  Runtime,
  Worker,
  bundleWorkflowCode,
  type LogLevel,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import type { DataConverter } from '@temporalio/common';
import { Pool } from 'pg';
import { createActivities } from './activities';
import { attemptClock, createCourier } from './courier';
import { resolveArtifact, resolveArtifactWithDatabase } from './artifact/configured';
import type { Artifact } from './artifact/types';
import { defaultRuntimeConfig } from './config';
import type { RuntimeConfig } from './config/types';
import type { JobHandler } from './effects/build';
import { createLogger, type Logger } from './log';
import { createProviderRegistry, defaultProviders } from './providers';
import type { Provider } from './providers/types';
import { migrate } from './sql/migrations';
import { startCompletedPruner } from './client/prune';
import { Client, type Connection } from '@temporalio/client';
import { ensureSearchAttributes } from './temporal/register';
import { createPool } from './postgres/pool';
import { createJobStarter } from './client/starter';
import { startRelay, type RelayOptions } from './outbox/relay';
import { connectionOptions } from './temporal/connect';
import { createLaneWorker } from './rate/lane-worker';
import { rateLanes } from './rate/lanes';
import { dataConverterFromEnv } from './codec/env';

export interface JobWorkerOptions {
  artifact: Artifact | string | object;
  config?: RuntimeConfig;
  /**
   * a pg Pool (stays the caller's), a URL, or an opener of a database this worker owns for its run (e.g.
   * `embeddedDatabase` of forge-jobs/admin); default [database] of the config, else DATABASE_URL
   */
  database?: Pool | string | DatabaseOpener;
  handlers?: Record<string, JobHandler>;
  /** extra or replacement providers: a capability they serve is taken from the defaults */
  providers?: Provider[];
  taskQueue?: string;
  logger?: Logger;
  /** a prebuilt workflow bundle (production); default: bundle src/workflows once per process */
  workflowBundle?: WorkflowBundleOption;
  /** deletes completed job runs after `[jobs] completed_retention` (dead ones stay for the namespace's retention); false: off */
  pruneCompleted?: false | { intervalMs?: number; limit?: number };
  /** DNS lookup for the HTTP provider's address guard (tests stub it); with the courier, it asks this process over IPC */
  lookup?: Parameters<typeof defaultProviders>[0]['lookup'];
  /**
   * Email and HTTP are sent by a courier: a child process (src/courier) that also writes their sent-ledger
   * rows, so a worker killed mid-send leaves the send to finish and be recorded, and the retry skips it.
   * false: send in this process (the fallback, e.g. where a worker may not fork): a kill between a server's
   * acceptance and the ledger row then re-sends on the retry, with the same Message-ID / Idempotency-Key.
   */
  courier?: false;
  /**
   * The outbox relay runs inside the worker unless this is false (run it alone with `forge-jobs relay`);
   * an object tunes it (pollIntervalMs, retentionMs, batchSize).
   */
  relay?: boolean | Pick<RelayOptions, 'pollIntervalMs' | 'retentionMs' | 'batchSize' | 'pruneIntervalMs'>;
  /** payload codecs etc. (the relay's client uses it too); default: the AES-GCM codec when FORGE_CODEC_KEY is set */
  dataConverter?: DataConverter;
  /**
   * Prometheus metrics (Temporal's runtime metrics and the forge_jobs_* job counters) at
   * http://<address>/metrics, e.g. { prometheus: '127.0.0.1:9464' }; default FORGE_METRICS_PROMETHEUS, else off.
   * The runtime is process-wide: the first worker of a process decides.
   */
  metrics?: { prometheus?: string };
  /**
   * Slots and cache of the Temporal worker (Worker.create options of the same names); default the SDK's.
   * More activity slots than the SDK's 100 did not speed a 10,000-target fan-out up on a 2-core machine
   * (it is CPU-bound there) and raised peak RSS by ~100 MiB: see the README's Benchmarks.
   */
  tuning?: WorkerTuning;
}

/** Starts a database for one worker run: its URL, and how to stop it when the worker stops. */
export type DatabaseOpener = (log: (line: string) => void) => Promise<{ url: string; stop(): Promise<void> }>;

export interface WorkerTuning {
  maxConcurrentActivityTaskExecutions?: number;
  maxConcurrentWorkflowTaskExecutions?: number;
  maxConcurrentLocalActivityExecutions?: number;
  maxCachedWorkflows?: number;
  maxConcurrentActivityTaskPolls?: number;
  maxConcurrentWorkflowTaskPolls?: number;
}

let runtimeInstalled: { prometheus?: string } | undefined;

/**
 * The SDK logs every worker state change at INFO; ours are the JSON lines. Set once, before any connection;
 * with a Prometheus address, the runtime also serves its metrics (and the job counters) there.
 * Returns the address metrics are served at, if any.
 */
function quietRuntime(metrics: { prometheus?: string } = {}, logger?: Logger): string | undefined {
  const prometheus = metrics.prometheus ?? (process.env.FORGE_METRICS_PROMETHEUS || undefined);
  if (runtimeInstalled) {
    if (prometheus && runtimeInstalled.prometheus !== prometheus) {
      logger?.warn('metrics.unavailable', {
        reason: 'the Temporal runtime of this process was installed already',
        prometheus: runtimeInstalled.prometheus ?? null,
      });
    }
    return runtimeInstalled.prometheus;
  }
  runtimeInstalled = { prometheus };
  try {
    Runtime.install({
      logger: new DefaultLogger(
        (process.env.FORGE_TEMPORAL_LOG_LEVEL as LogLevel) ?? 'WARN',
        ({ level, message, meta, timestampNanos }) => {
          // a rate lane's worker polls activities only, by design (src/rate/lane-worker.ts)
          if (message.startsWith('No workflows registered')) return;
          const time = new Date(Number(timestampNanos / 1_000_000n)).toISOString();
          if (meta === undefined) console.error(time, `[${level}]`, message);
          else console.error(time, `[${level}]`, message, meta);
        },
      ),
      ...(prometheus && { telemetryOptions: { metrics: { prometheus: { bindAddress: prometheus } } } }),
    });
  } catch (err) {
    // the embedding app installed its own runtime first: keep it (its metrics settings apply)
    runtimeInstalled = {};
    if (prometheus) logger?.warn('metrics.unavailable', { reason: (err as Error).message });
  }
  return runtimeInstalled.prometheus;
}

let processBundle: Promise<{ code: string }> | undefined;

/** Bundling takes seconds: one bundle serves every worker in this process. */
function sharedBundle(): Promise<{ code: string }> {
  processBundle ??= bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: quietBundlerLogger });
  return processBundle;
}

const quietBundlerLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: (message: string) => process.stderr.write(message + '\n'),
};

export function createJobWorker(options: JobWorkerOptions) {
  const config = options.config ?? defaultRuntimeConfig();
  let artifact = resolveArtifact(options.artifact, config);
  const logger = options.logger ?? createLogger();
  const taskQueue = options.taskQueue ?? config.jobs.taskQueue;
  const dataConverter = options.dataConverter ?? dataConverterFromEnv();
  // What loaded but looks wrong (a typo in forge.runtime.toml, a filter that can match nothing): said once, at load.
  for (const warning of config.warnings ?? []) logger.warn('config.warning', { warning });
  for (const warning of artifact.warnings) logger.warn('artifact.warning', { warning });
  let worker: Worker | undefined;
  const laneWorkers: Worker[] = [];
  let stopping = false;
  let markReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (markReady = resolve));

  async function run(): Promise<void> {
    // What run() opened, closed in reverse order however it ends (a failed connect included).
    const cleanups: Array<() => Promise<unknown>> = [];
    const cleanup = async () => {
      for (const close of cleanups.reverse())
        await close().catch((err) => logger.warn('executor.cleanup_failed', { error: (err as Error).message }));
    };
    try {
      await serve(cleanups);
    } finally {
      logger.info('executor.stopped', { task_queue: taskQueue });
      await cleanup();
    }
  }

  async function serve(cleanups: Array<() => Promise<unknown>>): Promise<void> {
    const metricsAddress = quietRuntime(options.metrics, logger);
    let pool: Pool;
    if (options.database instanceof Pool) pool = options.database;
    else {
      const db = await openDatabase(options.database, config, logger);
      cleanups.push(db.stop);
      pool = createPool({ connectionString: db.url, max: 20 }, (err) => logger.warn('database.connection_lost', { error: err.message }));
      cleanups.push(() => pool.end());
    }
    // Without a migration in the artifact, the tables as they are decide relation storage; a relation a
    // job needs whose storage is nowhere stops the worker here rather than failing every job.
    artifact = await resolveArtifactWithDatabase(artifact, config, pool);
    for (const warning of artifact.warnings) logger.warn('artifact.warning', { warning });
    const custom = options.providers ?? [];
    const taken = new Set(custom.flatMap((p) => p.capabilities));
    const courier = options.courier === false ? undefined : createCourier({ config, pool, lookup: options.lookup, logger });
    if (courier) cleanups.push(() => courier.close());
    const defaults = defaultProviders({ config, pool, artifact, lookup: options.lookup, courier, logger }).filter(
      (p) => !p.capabilities.some((c) => taken.has(c)),
    );
    const providers = createProviderRegistry([...defaults, ...custom]);
    cleanups.push(() => providers.close());
    // Forked now, when some default send is left to it, so a courier that cannot start stops the worker here.
    if (courier && defaults.some((p) => p.recordsSent)) await courier.start();
    const connection = await NativeConnection.connect(connectionOptions(config.temporal));
    cleanups.push(() => connection.close());
    await migrate(pool);
    // A fresh server or namespace may not know the Forge search attributes yet, and every job start and state
    // change needs them. Registering is idempotent; where this identity may not (Temporal Cloud),
    // `forge-jobs setup` or the console does it, and a warning says so.
    await ensureSearchAttributes(connection as unknown as Pick<Connection, 'operatorService'>, config.temporal.namespace).catch((err) =>
      logger.warn('search_attributes.not_registered', { namespace: config.temporal.namespace, error: (err as Error).message }),
    );
    const activityDeps = { pool, providers, artifact, config, handlers: options.handlers, logger };
    const activities = createActivities(activityDeps);
    // Notes when each attempt starts: the courier bounds its sends by attempt start + start-to-close.
    const interceptors = { activity: [attemptClock] };
    worker = await Worker.create({
      connection,
      namespace: config.temporal.namespace,
      taskQueue,
      dataConverter,
      workflowBundle: options.workflowBundle ?? (await sharedBundle()),
      activities,
      interceptors,
      ...options.tuning,
    });
    const lanes = rateLanes(config, taskQueue);
    for (const lane of lanes) {
      const laneWorker = await createLaneWorker({
        connection,
        namespace: config.temporal.namespace,
        lane,
        activities: activityDeps,
        logger,
        options: { dataConverter, interceptors },
      });
      cleanups.push(async () => laneWorker.stop());
      laneWorkers.push(laneWorker.worker);
    }
    if (stopping) return;
    if (options.relay !== false) {
      const relayClient = createJobStarter({ artifact, config, taskQueue, logger, dataConverter });
      cleanups.push(() => relayClient.close());
      const tuning = typeof options.relay === 'object' ? options.relay : {};
      const relay = await startRelay({ ...tuning, pool, client: relayClient, logger, migrate: false });
      cleanups.push(() => relay.stop());
      if (stopping) return;
    }
    if (options.pruneCompleted !== false) {
      const tuning = typeof options.pruneCompleted === 'object' ? options.pruneCompleted : {};
      const pruner = startCompletedPruner({
        client: new Client({ connection, namespace: config.temporal.namespace, dataConverter }),
        namespace: config.temporal.namespace,
        taskQueue,
        olderThanMs: config.jobs.completedRetentionMs,
        ledger: { pool, jobs: config.jobs },
        logger,
        ...tuning,
      });
      cleanups.push(async () => pruner.stop());
    }
    logger.info('executor.started', {
      task_queue: taskQueue,
      namespace: config.temporal.namespace,
      address: config.temporal.address,
      ...(lanes.length > 0 && { rate_lanes: lanes.map((l) => `${l.taskQueue} ${l.rate.text}`) }),
      ...(metricsAddress && { metrics: `http://${metricsAddress}/metrics` }),
    });
    // The lanes run and stop with the worker: one that fails stops the others.
    const running = Promise.all([worker, ...laneWorkers].map((w) => w.run().catch((err) => (shutdown(), Promise.reject(err)))));
    markReady();
    await running;
  }

  function shutdown(): void {
    stopping = true;
    for (const w of [worker, ...laneWorkers]) if (w && w.getState() === 'RUNNING') w.shutdown();
  }

  return {
    run,
    shutdown,
    ready,
    /** the artifact as this worker runs it: once ready, with the storage the database catalog decided */
    get artifact() {
      return artifact;
    },
    taskQueue,
  };
}

export type JobWorker = ReturnType<typeof createJobWorker>;

/**
 * The URL of `database`, else [database] of the config, else DATABASE_URL; with none of them, the database
 * an opener given as `database` starts (and this worker stops). The embedded adapter without an opener
 * says how to get one.
 */
async function openDatabase(
  explicit: string | DatabaseOpener | undefined,
  config: RuntimeConfig,
  logger: Logger,
): Promise<{ url: string; stop: () => Promise<void> }> {
  const url = (typeof explicit === 'string' ? explicit : undefined) ?? config.database.url ?? (process.env.DATABASE_URL || undefined);
  if (url) return { url, stop: async () => undefined };
  if (config.database.adapter !== 'embedded') {
    throw new Error('forge-jobs worker: no database: pass `database`, set DATABASE_URL, or [database.postgres] url in forge.runtime.toml');
  }
  if (typeof explicit !== 'function') {
    throw new Error(
      'forge-jobs worker: no database url and the embedded adapter: pass `database: embeddedDatabase` (from forge-jobs/admin), a URL or a Pool, or set DATABASE_URL',
    );
  }
  const db = await explicit((line) => logger.debug('database.embedded', { line }));
  logger.info('database.embedded_started', { url: db.url.replace(/:[^:@/]*@/, ':***@') });
  return { url: db.url, stop: db.stop };
}
