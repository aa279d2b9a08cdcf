/**
 * Stats and the visibility queries behind inspection. Every number comes from Temporal (visibility counts,
 * the task queue's pollers) or from the outbox table, never from counters in memory: they are the same
 * after a worker or app restart, and the same whichever process asks.
 */
import { COUNT_OUTBOX_SQL, COUNT_PENDING_OUTBOX_LEGACY_SQL } from '../sql/outbox';
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';

import type { RateLane } from '../rate/lanes';
import { TASK_QUEUE_TYPE } from '../names';
import { jobQuery, jobStateIs, quote } from '../visibility';

export interface JobStats {
  /** distinct worker identities polling the task queue (workflow or activity tasks), as the server last saw them */
  worker_count: number;
  /** job runs not finished yet (ExecutionStatus = Running) */
  queue_depth: number;
  /** job runs started; a redrive is a new run and counts again */
  total_enqueued: number;
  /** job runs that completed (ForgeJobState = completed) */
  total_completed: number;
  /** job runs that ended failed (a dead job's run fails; ExecutionStatus = Failed) */
  total_failed: number;
  /** job runs with at least one failed attempt that was retried (ForgeRetries > 0) */
  total_retried: number;
  /** jobs whose latest run is dead: a dead run redriven since is not counted */
  total_dead: number;
  /** job runs that died of a sandbox violation (ForgeFailure = SandboxViolation) */
  sandbox_violations: number;
  /** outbox rows not dispatched yet (dead ones aside); null when no database was given */
  outbox_pending: number | null;
  /** of those, rows whose jobs the running artifact lacked when a relay last looked (they wait for one that has them) */
  outbox_unmatched: number | null;
  /** rows parked after repeated refusals (`forge-jobs outbox dead`, `forge-jobs outbox retry`) */
  outbox_dead: number | null;
  /** each rate-limited lane (src/rate/lanes.ts): sends waiting for the rate, and the workers polling it */
  rate_lanes: RateLaneStats[];
  task_queue: string;
  namespace: string;
}

export interface RateLaneStats {
  lane: string;
  task_queue: string;
  rate: string;
  /** sends scheduled and not yet handed to a worker (the server's approximate backlog count) */
  backlog: number;
  workers: number;
}

export interface OutboxCounts {
  pending: number | null;
  unmatched: number | null;
  dead: number | null;
}

/** The relay's backlog: undispatched, unmatched and dead outbox rows; nulls without a database. */
export async function outboxCounts(pool: Pool | undefined): Promise<OutboxCounts> {
  if (!pool) return { pending: null, unmatched: null, dead: null };
  try {
    const { rows } = await pool.query<{ pending: string; unmatched: string; dead: string }>(COUNT_OUTBOX_SQL);
    return { pending: Number(rows[0]?.pending ?? 0), unmatched: Number(rows[0]?.unmatched ?? 0), dead: Number(rows[0]?.dead ?? 0) };
  } catch (err) {
    const code = (err as { code?: string }).code;
    // no outbox table yet (no worker or `forge-jobs migrate` ran against this database): nothing is pending
    if (code === '3F000' || code === '42P01') return { pending: 0, unmatched: 0, dead: 0 };
    // a table from before migration 5: what it can tell
    if (code === '42703') {
      const { rows } = await pool.query<{ n: string }>(COUNT_PENDING_OUTBOX_LEGACY_SQL);
      return { pending: Number(rows[0]?.n ?? 0), unmatched: 0, dead: 0 };
    }
    throw err;
  }
}

/** Pollers of the task queue's workflow and activity task queues, by identity. */
export async function workerIdentities(client: Client, namespace: string, taskQueue: string): Promise<string[]> {
  const types = [TASK_QUEUE_TYPE.workflow, TASK_QUEUE_TYPE.activity];
  const identities = new Set<string>();
  for (const taskQueueType of types) {
    const response = await client.workflowService.describeTaskQueue({ namespace, taskQueue: { name: taskQueue }, taskQueueType });
    for (const poller of response.pollers ?? []) if (poller.identity) identities.add(poller.identity);
  }
  return [...identities].sort();
}

async function laneStats(client: Client, namespace: string, lane: RateLane): Promise<RateLaneStats> {
  const response = await client.workflowService.describeTaskQueue({
    namespace,
    taskQueue: { name: lane.taskQueue },
    taskQueueType: TASK_QUEUE_TYPE.activity,
    reportStats: true,
    includeTaskQueueStatus: true,
  });
  const backlog = Number(response.stats?.approximateBacklogCount ?? response.taskQueueStatus?.backlogCountHint ?? 0);
  const workers = new Set((response.pollers ?? []).map((p) => p.identity).filter(Boolean)).size;
  return { lane: lane.name, task_queue: lane.taskQueue, rate: lane.rate.text, backlog, workers };
}

export async function countRuns(client: Client, query: string): Promise<number> {
  return (await client.workflow.count(query)).count;
}

/** Runs by ExecutionStatus name (Running, Completed, Failed, …) in one count. */
export async function countByStatus(client: Client, query: string): Promise<Record<string, number>> {
  const result = await client.workflow.count(`${query} GROUP BY ExecutionStatus`);
  const byStatus: Record<string, number> = {};
  for (const group of result.groups) byStatus[String(group.groupValues[0])] = group.count;
  return byStatus;
}

export async function jobStats(a: {
  client: Client;
  namespace: string;
  taskQueue: string;
  database?: Pool;
  /** jobs whose latest run is dead (inspect.ts computes it from visibility) */
  deadCount: () => Promise<number>;
  lanes?: RateLane[];
}): Promise<JobStats> {
  const { client, taskQueue } = a;
  const [workers, byStatus, enqueued, completed, retried, sandbox, dead, pending] = await Promise.all([
    workerIdentities(client, a.namespace, taskQueue),
    countByStatus(client, jobQuery(taskQueue)),
    countRuns(client, jobQuery(taskQueue)),
    countRuns(client, jobQuery(taskQueue, jobStateIs('completed'))),
    countRuns(client, jobQuery(taskQueue, 'ForgeRetries > 0')),
    countRuns(client, jobQuery(taskQueue, `ForgeFailure = ${quote('SandboxViolation')}`)),
    a.deadCount(),
    outboxCounts(a.database),
  ]);
  const lanes = await Promise.all((a.lanes ?? []).map((lane) => laneStats(client, a.namespace, lane)));
  return {
    worker_count: workers.length,
    queue_depth: byStatus.Running ?? 0,
    total_enqueued: enqueued,
    total_completed: completed,
    total_failed: byStatus.Failed ?? 0,
    total_retried: retried,
    total_dead: dead,
    sandbox_violations: sandbox,
    outbox_pending: pending.pending,
    outbox_unmatched: pending.unmatched,
    outbox_dead: pending.dead,
    rate_lanes: lanes,
    task_queue: taskQueue,
    namespace: a.namespace,
  };
}
