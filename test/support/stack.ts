/** The shared stack of an integration run (see test/setup/global-setup.ts), and a pipeline on it per test. */
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

export interface Pipeline {
  client: ReturnType<typeof createJobClient>;
  /** the relay's start path on the pipeline's task queue */
  starter: ReturnType<typeof createJobStarter>;
  inspector: ReturnType<typeof createJobInspector>;
  worker: ReturnType<typeof createJobWorker>;
  logs: ReturnType<typeof createMemoryLogger>['records'];
  stop(): Promise<void>;
}

export async function startPipeline(options: {
  artifact: Artifact | string | object;
  config: RuntimeConfig;
  pool: Pool;
  handlers?: Record<string, JobHandler>;
  providers?: Provider[];
  policy?: Partial<JobPolicy>;
  /** payload codecs for client and worker (test/integration/codec.test.ts) */
  dataConverter?: DataConverter;
  /** false: email and HTTP sent in the worker's own process (JobWorkerOptions.courier) */
  courier?: false;
}): Promise<Pipeline> {
  const logger = createMemoryLogger();
  const worker = createJobWorker({
    artifact: options.artifact,
    config: options.config,
    database: options.pool,
    handlers: options.handlers,
    providers: options.providers,
    logger,
    dataConverter: options.dataConverter,
    courier: options.courier,
    workflowBundle: { codePath: process.env.FORGE_TEST_WORKFLOW_BUNDLE! },
  });
  const running = worker.run();
  await Promise.race([worker.ready, running]);
  const client = createJobClient({
    artifact: options.artifact,
    config: options.config,
    logger,
    policy: options.policy,
    dataConverter: options.dataConverter,
  });
  const starter = createJobStarter({
    artifact: options.artifact,
    config: options.config,
    logger,
    policy: options.policy,
    dataConverter: options.dataConverter,
  });
  const inspector = createJobInspector({ config: options.config, dataConverter: options.dataConverter });
  return {
    client,
    starter,
    inspector,
    worker,
    logs: logger.records,
    async stop() {
      worker.shutdown();
      await running;
      await client.close();
      await starter.close();
      await inspector.close();
    },
  };
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
