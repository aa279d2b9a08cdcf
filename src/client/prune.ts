/**
 * Temporal's retention is per namespace, and a dead job must stay inspectable and retryable for as long as
 * that retention (`forge-jobs setup --retention`, 30 days by default). Completed job runs are not needed
 * that long: this deletes them (and their fan-out children) after `[jobs] completed_retention`, 7 days by
 * default, so dead jobs are kept longer than completed ones.
 *
 * The effect ledger (entity.create keys, `sent:` keys) follows the namespace: a key is needed for as long as
 * a run of its job can still retry or be redriven, and a redrive reuses the keys of the run it repeats.
 */
import { isGrpcServiceError, type Client } from '@temporalio/client';
import { tsToMs } from '@temporalio/common/lib/time';
import type { Pool } from 'pg';
import type { JobsConfig } from '../config/types';
import { createLogger, type Logger } from '../log';
import { pruneLedgerKeys } from '../sql/ledger';
import { pruneDeadTargetsQuery } from '../sql/pages';
import { MAX_BACKOFF_MS } from '../retry/backoff';
import { GRPC_STATUS } from '../names';
import { childRunsQuery, executionStatusIs, jobQuery, jobStateIs, quote } from '../visibility';

export interface PruneOptions {
  client: Client;
  namespace: string;
  taskQueue: string;
  /** completed runs that closed longer ago than this are deleted */
  olderThanMs: number;
  /** most runs deleted in one call */
  limit?: number;
  now?: number;
}

export async function pruneCompleted(options: PruneOptions): Promise<number> {
  const before = new Date((options.now ?? Date.now()) - options.olderThanMs).toISOString();
  const closedBefore = `CloseTime < ${quote(before)}`;
  const queries = [
    jobQuery(options.taskQueue, jobStateIs('completed'), closedBefore),
    // The children of a fan-out carry no Forge attributes; a completed one (or a part's run that continued as
    // new) is never needed by a redrive, which reads a paged job's dead targets from forge_jobs.dead_targets.
    childRunsQuery(options.taskQueue, `(${executionStatusIs('Completed')} OR ${executionStatusIs('ContinuedAsNew')})`, closedBefore),
  ];
  const limit = options.limit ?? 1000;
  let deleted = 0;
  for (const query of queries) {
    const runs: Array<{ workflowId: string; runId: string }> = [];
    for await (const wf of options.client.workflow.list({ query })) {
      if (deleted + runs.length >= limit) break;
      runs.push({ workflowId: wf.workflowId, runId: wf.runId });
    }
    for (const run of runs) {
      try {
        await options.client.workflowService.deleteWorkflowExecution({ namespace: options.namespace, workflowExecution: run });
        deleted++;
      } catch (err) {
        if (!(isGrpcServiceError(err) && err.code === GRPC_STATUS.NOT_FOUND)) throw err;
      }
    }
  }
  return deleted;
}

/**
 * How long ledger keys are kept: the namespace's retention (a dead run can be redriven that long after it
 * closed) plus the longest a run's retries can take before it closes, plus a day of slack.
 */
export function ledgerKeepMs(namespaceRetentionMs: number, jobs: Pick<JobsConfig, 'maxAttempts' | 'timeoutMs'>): number {
  return namespaceRetentionMs + jobs.maxAttempts * (jobs.timeoutMs + MAX_BACKOFF_MS) + 24 * 3_600_000;
}

/** Deletes ledger keys older than `olderThanMs`, at most `limit`; returns how many. */
export async function pruneLedger(pool: Pick<Pool, 'query'>, olderThanMs: number, limit = 10_000): Promise<number> {
  const q = pruneLedgerKeys(olderThanMs, limit);
  return (await pool.query(q.text, q.values)).rowCount ?? 0;
}

/**
 * Deletes dead targets (forge_jobs.dead_targets) stored longer ago than `olderThanMs`: the worker's sweep
 * keeps them as long as the effect ledger's keys, past the namespace's retention of the dead run they redrive.
 */
export async function pruneDeadTargets(pool: Pick<Pool, 'query'>, olderThanMs: number, limit = 10_000): Promise<number> {
  const q = pruneDeadTargetsQuery(olderThanMs, limit);
  return (await pool.query(q.text, q.values)).rowCount ?? 0;
}

async function namespaceRetentionMs(client: Client, namespace: string): Promise<number | undefined> {
  const response = await client.workflowService.describeNamespace({ namespace });
  return tsToMs(response.config?.workflowExecutionRetentionTtl) || undefined;
}

/** Runs pruneCompleted now and then, for as long as the worker runs; a failed sweep is logged and retried later. */
export function startCompletedPruner(
  options: Omit<PruneOptions, 'now'> & {
    intervalMs?: number;
    logger?: Logger;
    ledger?: { pool: Pick<Pool, 'query'>; jobs: Pick<JobsConfig, 'maxAttempts' | 'timeoutMs'> };
  },
): { stop(): void } {
  const logger = options.logger ?? createLogger();
  const pruneKeys = async ({ pool, jobs }: NonNullable<typeof options.ledger>) => {
    const retention = await namespaceRetentionMs(options.client, options.namespace);
    // A namespace without retention keeps its runs: their keys stay too.
    if (retention === undefined) return;
    const olderThanMs = ledgerKeepMs(retention, jobs);
    const deleted = await pruneLedger(pool, olderThanMs);
    if (deleted > 0) logger.info('ledger.pruned', { deleted, older_than_ms: olderThanMs });
    const dead = await pruneDeadTargets(pool, olderThanMs);
    if (dead > 0) logger.info('dead_targets.pruned', { deleted: dead, older_than_ms: olderThanMs });
  };
  const sweep = () =>
    Promise.all([
      pruneCompleted(options).then((deleted) => deleted > 0 && logger.info('jobs.pruned', { deleted, older_than_ms: options.olderThanMs })),
      options.ledger && pruneKeys(options.ledger),
    ]).catch((err) => logger.warn('jobs.prune_failed', { error: (err as Error).message }));
  const intervalMs = options.intervalMs ?? 10 * 60_000;
  const first = setTimeout(sweep, Math.min(5_000, intervalMs));
  const timer = setInterval(sweep, intervalMs);
  first.unref();
  timer.unref();
  return {
    stop() {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
