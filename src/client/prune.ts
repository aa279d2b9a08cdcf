/**
 * Temporal's retention is per namespace, and a dead job must stay inspectable and retryable for as long as
 * that retention (`forge-jobs setup --retention`, 30 days by default). Completed job runs are not needed
 * that long: this deletes them (and their fan-out children) after `[jobs] completed_retention`, 7 days by
 * default, so dead jobs are kept longer than completed ones.
 */
import { isGrpcServiceError, type Client } from '@temporalio/client';
import { createLogger, type Logger } from '../log';
import { jobQuery, quote } from './stats';

const NOT_FOUND = 5; // gRPC status: another worker deleted it first

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
    jobQuery(options.taskQueue, `ForgeJobState = ${quote('completed')}`, closedBefore),
    // The children of a fan-out carry no Forge attributes; a completed one is never needed by a redrive.
    [`WorkflowType = ${quote('jobTargetsWorkflow')}`, `TaskQueue = ${quote(options.taskQueue)}`, `ExecutionStatus = ${quote('Completed')}`, closedBefore].join(' AND '),
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
        if (!(isGrpcServiceError(err) && err.code === NOT_FOUND)) throw err;
      }
    }
  }
  return deleted;
}

/** Runs pruneCompleted now and then, for as long as the worker runs; a failed sweep is logged and retried later. */
export function startCompletedPruner(options: Omit<PruneOptions, 'now'> & { intervalMs?: number; logger?: Logger }): { stop(): void } {
  const logger = options.logger ?? createLogger();
  const sweep = () =>
    pruneCompleted(options).then(
      (deleted) => deleted > 0 && logger.info('jobs.pruned', { deleted, older_than_ms: options.olderThanMs }),
      (err) => logger.warn('jobs.prune_failed', { error: (err as Error).message }),
    );
  const first = setTimeout(sweep, 5_000);
  const timer = setInterval(sweep, options.intervalMs ?? 10 * 60_000);
  first.unref();
  timer.unref();
  return {
    stop() {
      clearTimeout(first);
      clearInterval(timer);
    },
  };
}
