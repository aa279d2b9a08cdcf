/**
 * Starting job workflows: connect (lazily), plan an event's starts (one workflow per job of every matching
 * after hook, ids fixed by the event), start each within a deadline (registering the Forge search
 * attributes on a server that lacks them, then once more), and dispatch an outbox row's jobs for the relay.
 * The app-facing client (./index.ts) and the relay both start through this.
 */
import { Client, Connection, isGrpcServiceError, WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/client';
import type { DataConverter } from '@temporalio/common';
import type { Artifact } from '../artifact/types';
import { resolveArtifact } from '../artifact/configured';
import { defaultRuntimeConfig } from '../config';
import type { RuntimeConfig, TemporalConfig } from '../config/types';
import { dataConverterFromEnv } from '../codec/env';
import { createLogger, type Logger } from '../log';
import { GRPC_STATUS, JOB_WORKFLOW_TYPE, jobSearchAttributes } from '../names';
import { jobWorkflowId, recordIdOf } from '../outbox/event';
import { connectionOptions } from '../temporal/connect';
import { ensureSearchAttributes } from '../temporal/register';
import type { JobInput, JobPolicy, Row } from '../workflows/types';
import { matchHooks, type MatchedHook } from './hooks';
import { jobPolicy, policyOfJob } from './policy';
import { DEFAULT_START_DEADLINE_MS, isTemporalUnavailable, StartDeadlineError, withinDeadline } from './start';

export interface JobStarterOptions {
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
}

export interface StartedJob {
  job: string;
  workflowId: string;
}

/** One workflow an event starts. */
export interface PlannedStart {
  job: string;
  workflowId: string;
  input: JobInput;
  recordId: string;
}

/** How the relay's start of a row failed: Temporal unreachable, a refusal, or a job the running artifact lacks. */
export class OutboxDispatchError extends Error {
  constructor(
    readonly kind: 'unavailable' | 'refused' | 'unmatched',
    message: string,
  ) {
    super(message);
    this.name = 'OutboxDispatchError';
  }
}

/** The relay's bound on one start: off the request path, so a slow Temporal gets time; well under its lease. */
export const DISPATCH_DEADLINE_MS = 10_000;

export function errorText(err: unknown): string {
  return (err as Error)?.message ?? String(err);
}

/** The longest close() waits for calls given up at their deadline to settle. */
const CLOSE_GRACE_MS = 10_000;

export function createJobStarter(options: JobStarterOptions) {
  const config = options.config ?? defaultRuntimeConfig();
  const artifact = resolveArtifact(options.artifact, config);
  const temporal: TemporalConfig = { ...config.temporal, ...options.temporal };
  const taskQueue = options.taskQueue ?? config.jobs.taskQueue;
  const logger = options.logger ?? createLogger();
  const policy = jobPolicy(config, options.policy);
  const dataConverter = options.dataConverter ?? dataConverterFromEnv();
  const startDeadlineMs = config.jobs.startDeadlineMs ?? DEFAULT_START_DEADLINE_MS;
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

  /** The workflows an event starts: one per job of every matching after hook, ids fixed by the event. */
  function plan(hooks: MatchedHook[], entity: string, operation: string, record: Row, eventId: string): PlannedStart[] {
    const recordId = recordIdOf(record);
    const planned: PlannedStart[] = [];
    for (const hook of hooks) {
      logger.info('hook.matched', { entity, operation, timing: hook.timing, jobs: hook.jobs.map((j) => j.name) });
      for (const job of hook.jobs) {
        const workflowId = jobWorkflowId({ job: job.name, entity, operation, recordId, eventId });
        const input: JobInput = {
          eventId,
          job: job.name,
          entity,
          operation: operation as JobInput['operation'],
          record,
          capabilities: [...job.capabilities],
          policy: policyOfJob(policy, config, taskQueue, job),
        };
        planned.push({ job: job.name, workflowId, input, recordId });
      }
    }
    return planned;
  }

  /**
   * The relay's path: starts the named jobs of one outbox row (or, for a row that names none, the jobs of
   * the running artifact's hooks), each within `deadlineMs` (not the request path: longer than the start
   * deadline, well under the relay's lease). Throws when any was not started, after
   * all were tried, so the row stays: OutboxDispatchError says whether Temporal was unavailable, refused,
   * or whether the running artifact lacks a job. A workflow already started counts as started.
   */
  async function dispatch(
    entity: string,
    operation: string,
    record: Row,
    eventId: string,
    jobs?: string[] | null,
    deadlineMs = DISPATCH_DEADLINE_MS,
  ): Promise<StartedJob[]> {
    const named = jobs && jobs.length > 0 ? jobs : matchHooks(artifact, entity, operation).flatMap((h) => h.jobs.map((j) => j.name));
    const missing = jobs && jobs.length > 0 ? named.filter((name) => !artifact.jobs[name]) : [];
    const hooks: MatchedHook[] = [
      { entity, operation, timing: 'after', jobs: named.filter((name) => artifact.jobs[name]).map((name) => artifact.jobs[name]) },
    ];
    const planned = named.length === missing.length ? [] : plan(hooks, entity, operation, record, eventId);
    const results = await Promise.allSettled(planned.map((p) => start(p.workflowId, p.input, p.recordId, deadlineMs)));
    const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [{ job: planned[i].job, error: r.reason }] : []));
    if (failures.length > 0) {
      const message = `could not start ${failures.length} of ${planned.length} jobs: ${failures.map((f) => `${f.job}: ${errorText(f.error)}`).join('; ')}`;
      throw new OutboxDispatchError(failures.every((f) => isTemporalUnavailable(f.error)) ? 'unavailable' : 'refused', message);
    }
    if (named.length === 0) throw new OutboxDispatchError('unmatched', `the running artifact has no after hook on ${entity}.${operation}`);
    if (missing.length > 0) throw new OutboxDispatchError('unmatched', `the running artifact has no job ${missing.join(', ')}`);
    return planned.map((p) => ({ job: p.job, workflowId: p.workflowId }));
  }

  /**
   * Calls given up at their deadline that have not settled yet: the SDK's retry of one may still be scheduled,
   * and a retry that finds the connection closed throws from its timer. close() lets them settle first.
   */
  const overdue = new Set<Promise<unknown>>();
  function beforeDeadline<T>(deadlineMs: number, call: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return withinDeadline(deadlineMs, call, (late) => {
      const settled: Promise<unknown> = late.catch(() => undefined).finally(() => overdue.delete(settled));
      overdue.add(settled);
    });
  }

  /** One start, within the start deadline unless the caller is not the request path (src/client/start.ts). */
  function start(workflowId: string, input: JobInput, recordId: string, deadlineMs = startDeadlineMs): Promise<void> {
    return beforeDeadline(deadlineMs, (signal) => startNow(workflowId, input, recordId, signal, deadlineMs));
  }

  async function startNow(
    workflowId: string,
    input: JobInput,
    recordId: string,
    signal: AbortSignal,
    deadlineMs: number,
    registered = false,
  ): Promise<void> {
    const client = await temporalClient();
    if (signal.aborted) throw new StartDeadlineError(deadlineMs);
    try {
      await client.connection.withAbortSignal(signal, () =>
        client.workflow.start(JOB_WORKFLOW_TYPE, {
          workflowId,
          taskQueue,
          args: [input],
          // The same event again must not start a second run; a redrive reuses the id explicitly.
          workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
          typedSearchAttributes: jobSearchAttributes({
            job: input.job,
            entity: input.entity,
            operation: input.operation,
            recordId,
            state: 'pending',
          }),
        }),
      );
      logger.debug('job.enqueued', { job_id: workflowId, name: input.job, capability: input.capabilities.join(',') });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      // A server that does not know the Forge search attributes yet (a fresh dev server or namespace): register
      // them (idempotent) and start once more.
      if (!registered && isUnknownSearchAttribute(err)) {
        await ensureSearchAttributes(client.connection as unknown as Pick<Connection, 'operatorService'>, temporal.namespace);
        return startNow(workflowId, input, recordId, signal, deadlineMs, true);
      }
      throw err;
    }
  }

  /** Closes the connection this starter opened (a client passed in stays the caller's), once its overdue calls settled. */
  async function close(): Promise<void> {
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(overdue), new Promise((resolve) => (grace = setTimeout(resolve, CLOSE_GRACE_MS)))]);
    clearTimeout(grace);
    await ownConnection?.close();
  }

  return {
    artifact,
    config,
    taskQueue,
    namespace: temporal.namespace,
    startDeadlineMs,
    beforeDeadline,
    logger,
    temporalClient,
    plan,
    start,
    dispatch,
    close,
  };
}

export type JobStarter = ReturnType<typeof createJobStarter>;

/** The server refused a start because a search attribute is not registered (the client may wrap the gRPC error). */
function isUnknownSearchAttribute(err: unknown): boolean {
  for (let e: unknown = err; e; e = (e as { cause?: unknown }).cause) {
    if (isGrpcServiceError(e) && e.code === GRPC_STATUS.INVALID_ARGUMENT && /search attribute/i.test(e.details ?? e.message)) return true;
  }
  return false;
}
