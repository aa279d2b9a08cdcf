/**
 * Inspection: one object of verbs over Temporal's visibility and histories — the dead-letter list, redrive
 * of dead jobs, stats, and one job in detail. An app creates it beside its job client; the CLI's
 * `forge-jobs jobs …` and the dev endpoints call the same verbs. Reading a run's history is ./history.ts.
 *
 * A dead job's run FAILS with an ApplicationFailure: message = reason, details[0] = { state: 'dead',
 * targets, completed, dead: DeadTarget[] }. A redrive starts a new run with the same workflow ID
 * (ALLOW_DUPLICATE_FAILED_ONLY), so the dead run stays in history and visibility; a job is dead while its
 * LATEST run is dead.
 */
import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  WorkflowIdReusePolicy,
  WorkflowNotFoundError,
  type WorkflowExecutionInfo,
} from '@temporalio/client';
import type { Pool } from 'pg';
import { parseSince } from '../config/duration';
import { mapLimit } from '../map-limit';
import { JOB_WORKFLOW_TYPE, QUERY, jobSearchAttributes, SA, type JobState } from '../names';
import type { JobStatus } from '../workflows/state';
import type { DeadTarget, JobInput, TargetId } from '../workflows/types';
import { rateLanes, type RateLane } from '../rate/lanes';
import type { DataConverter } from '@temporalio/common';
import { dataConverterFromEnv } from '../codec/env';
import { defaultRuntimeConfig } from '../config';
import type { RuntimeConfig } from '../config/types';
import { connectionOptions } from '../temporal/connect';
import { jobStats, type JobStats } from './stats';
import { executionStatusIs, jobQuery, jobStateIs, quote } from '../visibility';
import { jobAttributes as attributes, readRun } from './history';

export type { JobStats } from './stats';

export interface InspectorOptions {
  /** [temporal], [jobs] task_queue and the rate lanes; default the built-in defaults */
  config?: RuntimeConfig;
  /** the Temporal client to use (stays the caller's); default one connected on first use from config.temporal */
  temporalClient?: () => Promise<Client>;
  /** default config.temporal.namespace */
  namespace?: string;
  /** the task queue inspection is scoped to unless a call names another; default config.jobs.taskQueue */
  taskQueue?: string;
  /** the app's database, for stats' outbox counts */
  database?: Pool;
  /** the rate lanes of the task queue, for stats' rate_lanes; default those of the config */
  lanes?: RateLane[];
  /** for the connection the inspector opens; default: the AES-GCM codec when FORGE_CODEC_KEY is set */
  dataConverter?: DataConverter;
}

export interface DeadJobsQuery {
  job?: string;
  entity?: string;
  /** dead since: a Date, an ISO time, or a duration back from now ("24h", "30m", "1h30m") */
  since?: Date | string;
  /** at most this many, newest first (default 100) */
  limit?: number;
  /** default: the client's task queue; '*' for every queue of the namespace */
  taskQueue?: string;
}

export interface DeadJob {
  workflowId: string;
  runId: string;
  job: string;
  entity: string;
  operation: string;
  recordId: string;
  /** why it died: SandboxViolation, PermanentError, RetriesExhausted, NeedsResolution, … */
  reason: string;
  /** the failure's message: the (first) dead target's error */
  lastError: string;
  /** attempts made for the target that took the most (1 for a permanent error) */
  attempts: number;
  /** when the run died */
  time: Date;
  targets: number;
  completed: number;
  /** the dead targets, or for a large job a sample of them (deadCount says how many in all) */
  deadTargets: DeadTarget[];
  deadCount: number;
  taskQueue: string;
}

export interface RetriedJob {
  workflowId: string;
  /** the new run */
  runId: string;
  /** the dead run, which stays in history */
  previousRunId: string;
  job: string;
  /** the targets the new run runs; undefined: all (resolution had failed, or the dead list was truncated) */
  onlyTargets?: TargetId[];
  /** a paged job: the new run runs the dead targets this run stored (forge_jobs.dead_targets), paged from there */
  redriveOf?: string;
}

export interface JobRun {
  runId: string;
  status: string;
  state?: string;
  startTime: Date;
  closeTime?: Date;
}

export interface JobDetails {
  workflowId: string;
  runId: string;
  job: string;
  entity: string;
  operation: string;
  recordId: string;
  state: string;
  /** Temporal's execution status of the latest run: RUNNING, COMPLETED, FAILED, … */
  status: string;
  taskQueue: string;
  startTime: Date;
  closeTime?: Date;
  /** failed attempts that were retried */
  retries: number;
  failure?: string;
  reason?: string;
  targets?: number;
  completed?: number;
  deadTargets?: DeadTarget[];
  onlyTargets?: TargetId[];
  /** every run of this workflow ID, oldest first (redrives add runs) */
  runs: JobRun[];
}

const DEFAULT_DEAD_LIMIT = 100;
const ID_BATCH = 50;
const HISTORY_CONCURRENCY = 8;

export function createJobInspector(inspectorOptions: InspectorOptions = {}) {
  const config = inspectorOptions.config ?? defaultRuntimeConfig();
  const taskQueue = inspectorOptions.taskQueue ?? config.jobs.taskQueue;
  let connecting: Promise<Client> | undefined;
  let ownConnection: Connection | undefined;
  const connect = (): Promise<Client> =>
    (connecting ??= Connection.connect({ ...connectionOptions(config.temporal), connectTimeout: '3s' }).then(
      (connection) => {
        ownConnection = connection;
        return new Client({
          connection,
          namespace: config.temporal.namespace,
          dataConverter: inspectorOptions.dataConverter ?? dataConverterFromEnv(),
        });
      },
      (err) => {
        connecting = undefined;
        throw err;
      },
    ));
  const options = {
    temporalClient: inspectorOptions.temporalClient ?? connect,
    namespace: inspectorOptions.namespace ?? config.temporal.namespace,
    taskQueue,
    database: inspectorOptions.database,
    lanes: inspectorOptions.lanes ?? rateLanes(config, taskQueue),
  };
  const scope = (taskQueue: string | undefined) => (taskQueue === '*' ? undefined : (taskQueue ?? options.taskQueue));

  /** The dead runs that are the latest run of their workflow ID, newest first. */
  async function latestDeadRuns(client: Client, q: Omit<DeadJobsQuery, 'limit'>): Promise<WorkflowExecutionInfo[]> {
    const since = q.since === undefined ? undefined : parseSince(q.since);
    const query = jobQuery(
      scope(q.taskQueue),
      jobStateIs('dead'),
      executionStatusIs('Failed'),
      q.job !== undefined && `ForgeJob = ${quote(q.job)}`,
      q.entity !== undefined && `ForgeEntity = ${quote(q.entity)}`,
      since && `CloseTime >= ${quote(since.toISOString())}`,
    );
    const dead: WorkflowExecutionInfo[] = [];
    for await (const info of client.workflow.list({ query })) dead.push(info);
    if (dead.length === 0) return [];
    // A redrive adds a run under the same id: only ids whose newest run is this dead one are dead.
    const latest = new Map<string, { runId: string; start: number }>();
    const ids = [...new Set(dead.map((d) => d.workflowId))];
    for (let i = 0; i < ids.length; i += ID_BATCH) {
      const batch = ids.slice(i, i + ID_BATCH);
      const runs = jobQuery(undefined, `WorkflowId IN (${batch.map(quote).join(', ')})`);
      for await (const run of client.workflow.list({ query: runs })) {
        const known = latest.get(run.workflowId);
        if (!known || run.startTime.getTime() > known.start)
          latest.set(run.workflowId, { runId: run.runId, start: run.startTime.getTime() });
      }
    }
    return dead
      .filter((d) => latest.get(d.workflowId)?.runId === d.runId)
      .sort((a, b) => (b.closeTime?.getTime() ?? 0) - (a.closeTime?.getTime() ?? 0));
  }

  /** The dead-letter list: jobs whose latest run is dead, with why, newest first. */
  async function deadJobs(q: DeadJobsQuery = {}): Promise<DeadJob[]> {
    const limit = q.limit ?? DEFAULT_DEAD_LIMIT;
    if (!(limit > 0)) throw new Error(`limit must be a positive number, got ${String(q.limit)}`);
    const client = await options.temporalClient();
    const runs = (await latestDeadRuns(client, q)).slice(0, limit);
    return mapLimit(runs, HISTORY_CONCURRENCY, async (info) => {
      const run = await readRun(client, options.namespace, info.workflowId, info.runId);
      return {
        workflowId: info.workflowId,
        runId: info.runId,
        ...attributes(info),
        reason: (info.typedSearchAttributes.get(SA.failure) as string | undefined) ?? run.failureType ?? 'JobDead',
        lastError: run.failure ?? '',
        attempts: run.attempts,
        time: info.closeTime ?? info.startTime,
        targets: run.details?.targets ?? 0,
        completed: run.details?.completed ?? 0,
        deadTargets: run.details?.dead ?? [],
        deadCount: run.details?.deadCount ?? run.details?.dead.length ?? 0,
        taskQueue: info.taskQueue,
      };
    });
  }

  /**
   * Redrives dead jobs: one by workflow ID, or every dead job matching { job?, entity?, since? }. Each gets a
   * new run under the same ID that runs only its dead targets (all of them when resolution had failed);
   * the dead run stays in history. Effects keep their idempotency keys (workflow ID + target), so a
   * target that half-ran is not doubled. Throws when the one job is not dead, or when any of many failed
   * (after trying all).
   */
  async function retry(which: string | Omit<DeadJobsQuery, 'limit'>): Promise<RetriedJob[]> {
    const client = await options.temporalClient();
    if (typeof which === 'string') return [await redrive(client, which)];
    const dead = await latestDeadRuns(client, which);
    const failures: string[] = [];
    const retried = await mapLimit(dead, HISTORY_CONCURRENCY, (d) =>
      redrive(client, d.workflowId).catch((err: Error) => {
        failures.push(`${d.workflowId}: ${err.message}`);
        return undefined;
      }),
    );
    if (failures.length > 0) throw new Error(`could not retry ${failures.length} of ${dead.length} dead jobs: ${failures.join('; ')}`);
    return retried.filter((r): r is RetriedJob => r !== undefined);
  }

  async function redrive(client: Client, workflowId: string): Promise<RetriedJob> {
    const description = await describeLatest(client, workflowId);
    const state = description.typedSearchAttributes.get(SA.state) as string | undefined;
    if (description.type !== JOB_WORKFLOW_TYPE) throw new Error(`${workflowId} is not a job workflow (${description.type})`);
    if (description.status.name !== 'FAILED' || state !== 'dead') {
      throw new Error(`${workflowId} is not dead: its latest run is ${state ?? 'unknown'} (${description.status.name})`);
    }
    const run = await readRun(client, options.namespace, workflowId, description.runId);
    if (!run.input) throw new Error(`${workflowId}: the dead run's input is not in its history`);
    const dead = run.details?.dead ?? [];
    const deadCount = run.details ? run.details.targets - run.details.completed : 0;
    // Only the dead targets run again: a large job's from the table its run stored them in, a small job's from
    // its list. When the list was cut short, a part did not finish, or resolution failed, everything runs (what
    // already ran is recognised by its idempotency key).
    const redriveOf = run.details?.deadRun;
    const onlyTargets = redriveOf
      ? undefined
      : dead.length > 0 && dead.length >= deadCount
        ? dead.map((d) => d.target)
        : run.input.onlyTargets;
    const input: JobInput = { ...run.input, onlyTargets, redriveOf };
    if (onlyTargets === undefined) delete input.onlyTargets;
    if (redriveOf === undefined) delete input.redriveOf;
    const attrs = attributes(description);
    try {
      const handle = await client.workflow.start(JOB_WORKFLOW_TYPE, {
        workflowId,
        taskQueue: description.taskQueue,
        args: [input],
        workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
        typedSearchAttributes: jobSearchAttributes({ ...attrs, state: 'pending' }),
      });
      return {
        workflowId,
        runId: handle.firstExecutionRunId,
        previousRunId: description.runId,
        job: attrs.job,
        ...(onlyTargets && { onlyTargets }),
        ...(redriveOf && { redriveOf }),
      };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) throw new Error(`${workflowId} was redriven meanwhile`);
      throw err;
    }
  }

  /** Counts for the task queue (default the client's); see JobStats for each definition. */
  async function stats(q: { taskQueue?: string } = {}): Promise<JobStats> {
    const client = await options.temporalClient();
    const taskQueue = q.taskQueue ?? options.taskQueue;
    return jobStats({
      client,
      namespace: options.namespace,
      taskQueue,
      database: options.database,
      deadCount: async () => (await latestDeadRuns(client, { taskQueue })).length,
      lanes: taskQueue === options.taskQueue ? options.lanes : undefined,
    });
  }

  /** One job: its latest run in detail (reason and dead targets when dead) and every run of its ID. */
  async function show(workflowId: string): Promise<JobDetails> {
    const client = await options.temporalClient();
    const description = await describeLatest(client, workflowId);
    const closed = description.status.name !== 'RUNNING';
    const run = await readRun(client, options.namespace, workflowId, description.runId);
    let live: JobStatus | undefined;
    if (!closed) {
      // a running job answers its status query when a worker is up; without one, say what visibility knows
      live = await client.connection
        .withDeadline(Date.now() + 2000, () => client.workflow.getHandle(workflowId, description.runId).query<JobStatus>(QUERY.status))
        .catch(() => undefined);
    }
    const runs: JobRun[] = [];
    for await (const info of client.workflow.list({ query: `WorkflowId = ${quote(workflowId)}` })) {
      if (info.type !== JOB_WORKFLOW_TYPE) continue;
      runs.push({
        runId: info.runId,
        status: info.status.name,
        state: info.typedSearchAttributes.get(SA.state) as string | undefined,
        startTime: info.startTime,
        closeTime: info.closeTime,
      });
    }
    if (!runs.some((r) => r.runId === description.runId)) {
      runs.push({
        runId: description.runId,
        status: description.status.name,
        startTime: description.startTime,
        closeTime: description.closeTime,
      });
    }
    runs.sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
    const state = live?.state ?? (description.typedSearchAttributes.get(SA.state) as JobState | undefined) ?? 'pending';
    return {
      workflowId,
      runId: description.runId,
      ...attributes(description),
      state,
      status: description.status.name,
      taskQueue: description.taskQueue,
      startTime: description.startTime,
      closeTime: description.closeTime,
      retries: live?.failedAttempts ?? (description.typedSearchAttributes.get(SA.retries) as number | undefined) ?? 0,
      failure: run.failure ?? live?.lastError,
      reason: (description.typedSearchAttributes.get(SA.failure) as string | undefined) ?? run.failureType,
      targets: run.details?.targets ?? run.result?.targets ?? live?.targets,
      completed: run.details?.completed ?? run.result?.completed ?? live?.completed,
      deadTargets: run.details?.dead ?? live?.deadTargets,
      onlyTargets: run.input?.onlyTargets,
      runs,
    };
  }

  async function describeLatest(client: Client, workflowId: string) {
    try {
      return await client.workflow.getHandle(workflowId).describe();
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) throw new Error(`no job workflow ${workflowId} in namespace ${options.namespace}`);
      throw err;
    }
  }

  /** Closes the connection the inspector opened (a temporalClient passed in stays the caller's). */
  async function close(): Promise<void> {
    await ownConnection?.close();
  }

  return { deadJobs, retry, stats, show, close };
}

export type JobInspector = ReturnType<typeof createJobInspector>;
