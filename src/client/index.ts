/**
 * What the app calls after it commits: afterCommit starts one workflow per matched job and never throws
 * into the request path; withTransaction defers those starts until COMMIT. enqueue writes the event to the
 * transactional outbox instead, for the relay (src/outbox) to start through dispatch.
 */
import { Client, Connection, isGrpcServiceError, WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/client';
import { ensureSearchAttributes } from '../temporal/register';
import type { DataConverter } from '@temporalio/common';
import type { Pool, PoolClient } from 'pg';
import type { Artifact } from '../artifact/types';
import { defaultRuntimeConfig } from '../config';
import type { RuntimeConfig, TemporalConfig } from '../config/types';
import { createLogger, type Logger } from '../log';
import { jobSearchAttributes } from '../search-attributes';
import { connectionOptions } from '../temporal/connect';
import type { JobInput, JobPolicy, Row } from '../workflows/types';
import { matchHooks, type MatchedHook } from './hooks';
import { deriveEventId, jobWorkflowId, recordIdOf } from './ids';
import { rateLanes } from '../rate/lanes';
import { jobPolicy, policyOfJob } from './policy';
import { resolveArtifact } from '../artifact/configured';
import { inTransaction } from '../postgres/transaction';
import { outboxRow, type EnqueuedEvent } from '../outbox/enqueue';
import { enqueueOutboxStatement, insertOutboxEvent, type OutboxRowInput, type Queryable } from '../sql/outbox';
import { createJobInspector } from './inspect';
import { dataConverterFromEnv } from '../codec/env';
import { checkRecordSize, maxRecordBytes, RecordTooLargeError } from './limits';

export { DEFAULT_MAX_RECORD_BYTES, RecordTooLargeError } from './limits';

export interface JobClientOptions {
  artifact: Artifact | string | object;
  config?: RuntimeConfig;
  temporal?: Partial<Pick<TemporalConfig, 'address' | 'namespace'>> & Partial<TemporalConfig>;
  taskQueue?: string;
  logger?: Logger;
  /** an existing Temporal client (its connection stays the caller's) */
  client?: Client;
  policy?: Partial<JobPolicy>;
  /** payload codecs etc.; default: the AES-GCM codec when FORGE_CODEC_KEY is set (see src/codec), else none */
  dataConverter?: DataConverter;
  /** the app's pool, for stats' outbox_pending (stays the caller's) */
  database?: Pool;
}

export interface StartedJob {
  job: string;
  workflowId: string;
}

export type { EnqueuedEvent } from '../outbox/enqueue';

export type Emit = (entity: string, operation: string, record: Row, options?: { eventId?: string }) => void;

export function createJobClient(options: JobClientOptions) {
  const config = options.config ?? defaultRuntimeConfig();
  const artifact = resolveArtifact(options.artifact, config);
  const temporal: TemporalConfig = { ...config.temporal, ...options.temporal };
  const taskQueue = options.taskQueue ?? config.jobs.taskQueue;
  const logger = options.logger ?? createLogger();
  const policy = jobPolicy(config, options.policy);
  const dataConverter = options.dataConverter ?? dataConverterFromEnv();
  const recordLimit = maxRecordBytes(config);
  let connecting: Promise<Client> | undefined = options.client ? Promise.resolve(options.client) : undefined;
  let ownConnection: Connection | undefined;

  function temporalClient(): Promise<Client> {
    connecting ??= Connection.connect({ ...connectionOptions(temporal), connectTimeout: '3s' }).then(
      (connection) => {
        ownConnection = connection;
        return new Client({ connection, namespace: temporal.namespace, dataConverter });
      },
      (err) => {
        connecting = undefined; // the next event tries again
        throw err;
      },
    );
    return connecting;
  }

  interface PlannedStart {
    job: string;
    workflowId: string;
    input: JobInput;
    recordId: string;
  }

  /** The workflows an event starts: one per job of every matching after hook, ids fixed by the event. */
  function plan(hooks: MatchedHook[], entity: string, operation: string, record: Row, eventId: string): PlannedStart[] {
    const recordId = recordIdOf(record);
    const planned: PlannedStart[] = [];
    for (const hook of hooks) {
      logger.info('hook.matched', { entity, operation, timing: hook.timing, jobs: hook.jobs.map((j) => j.name) });
      for (const job of hook.jobs) {
        const workflowId = jobWorkflowId({ job: job.name, entity, operation, recordId, eventId });
        const input: JobInput = { eventId, job: job.name, entity, operation: operation as JobInput['operation'], record, capabilities: [...job.capabilities], policy: policyOfJob(policy, config, taskQueue, job) };
        planned.push({ job: job.name, workflowId, input, recordId });
      }
    }
    return planned;
  }

  async function afterCommit(entity: string, operation: string, record: Row, opts: { eventId?: string } = {}): Promise<StartedJob[]> {
    try {
      const hooks = matchHooks(artifact, entity, operation);
      if (hooks.length === 0) return [];
      checkRecordSize(entity, operation, record, recordLimit);
      const eventId = opts.eventId ?? deriveEventId(entity, operation, record);
      const starts = plan(hooks, entity, operation, record, eventId).map((p) =>
        start(p.workflowId, p.input, p.recordId).then(
          () => ({ job: p.job, workflowId: p.workflowId }),
          (err) => {
            logger.error('hook.enqueue_failed', { entity, operation, job: p.job, workflow_id: p.workflowId, error: (err as Error).message });
            return undefined;
          },
        ),
      );
      return (await Promise.all(starts)).filter((s): s is StartedJob => s !== undefined);
    } catch (err) {
      const bound = err instanceof RecordTooLargeError ? { size_bytes: err.size, limit_bytes: err.limit } : {};
      logger.error('hook.enqueue_failed', { entity, operation, error: (err as Error).message, ...bound });
      return [];
    }
  }

  /**
   * The relay's path: starts every workflow of one event, like afterCommit, but throws when any start
   * failed (after all were tried), so the outbox row stays for the next sweep. A workflow already started
   * counts as started.
   */
  async function dispatch(entity: string, operation: string, record: Row, eventId: string, jobs?: string[] | null): Promise<StartedJob[]> {
    const planned = plan(jobs ? namedJobs(entity, operation, jobs) : matchHooks(artifact, entity, operation), entity, operation, record, eventId);
    const results = await Promise.allSettled(planned.map((p) => start(p.workflowId, p.input, p.recordId)));
    const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [`${planned[i].job}: ${(r.reason as Error)?.message ?? String(r.reason)}`] : []));
    if (failed.length > 0) throw new Error(`could not start ${failed.length} of ${planned.length} jobs: ${failed.join('; ')}`);
    return planned.map((p) => ({ job: p.job, workflowId: p.workflowId }));
  }

  /** An event that names its jobs (a backfill's) starts those, whatever the hooks say. */
  function namedJobs(entity: string, operation: string, names: string[]): MatchedHook[] {
    const missing = names.filter((n) => !Object.prototype.hasOwnProperty.call(artifact.jobs, n));
    if (missing.length > 0) throw new Error(`the event names job${missing.length > 1 ? 's' : ''} ${missing.join(', ')}, not in this artifact`);
    return [{ entity, operation, timing: 'after', jobs: names.map((n) => artifact.jobs[n]) }];
  }

  /**
   * Writes the event to the outbox on `tx` (a pg client inside the app's BEGIN); the relay starts its jobs
   * after COMMIT, and nothing happens on ROLLBACK. An event that matches no after hook writes no row
   * (undefined). Throws what Postgres throws: the row is part of the app's transaction.
   */
  async function enqueue(
    tx: Queryable,
    entity: string,
    operation: string,
    record: Row,
    opts: { eventId?: string } = {},
  ): Promise<(EnqueuedEvent & { jobs: StartedJob[] }) | undefined> {
    const row = outboxEvent(entity, operation, record, opts);
    if (!row) return undefined;
    const { id, eventId } = await insertOutboxEvent(tx, row);
    // The workflow ids are fixed now: the app can answer with them before the relay has started anything.
    const recordId = recordIdOf(record);
    const jobs = matchHooks(artifact, entity, operation).flatMap((h) =>
      h.jobs.map((j) => ({ job: j.name, workflowId: jobWorkflowId({ job: j.name, entity, operation, recordId, eventId }) })),
    );
    return { id, eventId, jobs };
  }

  /**
   * The outbox row of an event, undefined when no after hook matches. Without an explicit event id the row
   * takes the transaction's (the one capture gives the same write). An oversized record throws
   * RecordTooLargeError before any SQL.
   */
  function outboxEvent(entity: string, operation: string, record: Row, opts: { eventId?: string }): OutboxRowInput | undefined {
    if (matchHooks(artifact, entity, operation).length === 0) return undefined;
    return outboxRow(entity, operation, record, { ...opts, maxRecordBytes: recordLimit });
  }

  async function start(workflowId: string, input: JobInput, recordId: string, registered = false): Promise<void> {
    const client = await temporalClient();
    try {
      await client.workflow.start('jobWorkflow', {
        workflowId,
        taskQueue,
        args: [input],
        // The same event again must not start a second run; a redrive reuses the id explicitly.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: jobSearchAttributes({ job: input.job, entity: input.entity, operation: input.operation, recordId, state: 'pending' }),
      });
      logger.debug('job.enqueued', { job_id: workflowId, name: input.job, capability: input.capabilities.join(',') });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      // A server that does not know the Forge search attributes yet (a fresh dev server or namespace): register
      // them (idempotent) and start once more.
      if (!registered && isUnknownSearchAttribute(err)) {
        await ensureSearchAttributes(client.connection as unknown as Pick<Connection, 'operatorService'>, temporal.namespace);
        return start(workflowId, input, recordId, true);
      }
      throw err;
    }
  }

  /**
   * BEGIN … fn … COMMIT on a client of `pool`; what fn emits starts only after COMMIT, and nothing on ROLLBACK.
   * The started jobs are on the returned promise's `jobs` only after the commit succeeded.
   * With `{ outbox: true }` the emitted events are written to the outbox inside the transaction, just
   * before COMMIT, and the relay starts them: a crash between COMMIT and the starts loses nothing.
   */
  async function withTransaction<T>(pool: Pool, fn: (tx: PoolClient, emit: Emit) => Promise<T>, mode: { outbox?: boolean } = {}): Promise<T> {
    const events: Array<[string, string, Row, { eventId?: string } | undefined]> = [];
    const emit: Emit = (entity, operation, record, opts) => events.push([entity, operation, record, opts]);
    // The outbox rows go out with the COMMIT, in its round trip: the request path pays no extra one.
    const outboxWrites = () => events.flatMap(([e, o, r, opts]) => {
      const row = outboxEvent(e, o, r, opts ?? {});
      return row ? [enqueueOutboxStatement(row)] : [];
    });
    const result = await inTransaction(pool, (tx) => fn(tx, emit), mode.outbox ? outboxWrites : undefined);
    if (!mode.outbox) await Promise.all(events.map(([e, o, r, opts]) => afterCommit(e, o, r, opts)));
    return result;
  }

  async function close(): Promise<void> {
    await ownConnection?.close();
  }

  // Inspection verbs (src/client/inspect.ts): deadJobs, retry, stats, show.
  const inspector = createJobInspector({ temporalClient, namespace: temporal.namespace, taskQueue, database: options.database, lanes: rateLanes(config, taskQueue) });

  return { afterCommit, enqueue, dispatch, withTransaction, close, artifact, taskQueue, temporalClient, dataConverter, ...inspector };
}

export type JobClient = ReturnType<typeof createJobClient>;

const INVALID_ARGUMENT = 3; // gRPC status

/** The server refused a start because a search attribute is not registered (the client may wrap the gRPC error). */
function isUnknownSearchAttribute(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (isGrpcServiceError(e) && e.code === INVALID_ARGUMENT && /search attribute/i.test(e.details ?? e.message)) return true;
  }
  return false;
}
