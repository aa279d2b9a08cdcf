/**
 * The activities as the workflows see them: types only, no activity code in the bundle. Timeouts come from
 * the job's policy (its input), so tests and replays choose them, and a dead worker's task is retried after
 * the job's own timeout rather than a fixed minute.
 */
import { proxyActivities, proxyLocalActivities, type RetryPolicy } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { JobPolicy } from './types';

type Activities = ReturnType<typeof createActivities>;

/** Non-retryable failures are decided by the activity (ApplicationFailure.nonRetryable); the policy adds the bounds. */
export function jobActivities(policy: JobPolicy) {
  // A rate-limited job's effects run on its lane (src/rate/lanes.ts), where the server paces them.
  const { runEffect } = proxyActivities<Activities>({
    startToCloseTimeout: policy.timeoutMs + (policy.lane?.waitMs ?? 0),
    retry: effectRetry(policy.maxAttempts),
    ...(policy.lane && { taskQueue: policy.lane.taskQueue }),
  });
  // Needs resolution reads only: it may retry longer than an effect, to ride out a database restart.
  const { resolveTargets } = proxyActivities<Activities>({
    startToCloseTimeout: policy.timeoutMs,
    retry: { maximumAttempts: 10, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
  });
  return { runEffect, resolveTargets };
}

/**
 * The batched path's activities (./targets.ts). `waves`: how many rounds of in-flight targets one batch takes.
 */
export function batchActivities(policy: JobPolicy, waves: number) {
  // One attempt, each wave of targets allowed one effect's timeout (no target has less time than alone). A batch
  // that fails as a whole is not run again as a whole: its targets go on alone, so a target that hangs or
  // kills its worker retries by itself instead of taking its batch down again.
  const lane = policy.lane && { taskQueue: policy.lane.taskQueue };
  const { runEffects } = proxyActivities<Activities>({
    startToCloseTimeout: policy.timeoutMs * waves + (policy.lane?.waitMs ?? 0),
    retry: { maximumAttempts: 1 },
    ...lane,
  });
  // A target going on alone after its batch: the batch was attempt 1, Temporal makes the rest.
  const { runEffect: runEffectAfterBatch } = proxyActivities<Activities>({
    startToCloseTimeout: policy.timeoutMs + (policy.lane?.waitMs ?? 0),
    retry: effectRetry(Math.max(1, policy.maxAttempts - 1)),
    ...lane,
  });
  return { runEffects, runEffectAfterBatch };
}

/**
 * A paged fan-out's activities (./part.ts). A batch is retried whole by Temporal only when it fails as a
 * whole (its worker died, the database was away): its heartbeat lets a dead worker's batch go to another
 * within seconds, and the ledger keeps what it already sent from being sent again. The targets' own
 * failures never fail the batch; the part retries those in rounds.
 */
export function pagedActivities(policy: JobPolicy) {
  const { targetBounds } = proxyActivities<Activities>({
    startToCloseTimeout: policy.timeoutMs,
    retry: { maximumAttempts: 10, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
  });
  const size = batchSizeOf(policy);
  const waves = Math.ceil(size / Math.max(1, Math.min(size, policy.concurrency)));
  const { runBatch } = proxyActivities<Activities>({
    startToCloseTimeout: policy.timeoutMs * waves + (policy.lane?.waitMs ?? 0),
    heartbeatTimeout: Math.min(policy.timeoutMs, 15_000) + (policy.lane?.waitMs ?? 0),
    retry: { maximumAttempts: 10, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
    ...(policy.lane && { taskQueue: policy.lane.taskQueue }),
  });
  return { targetBounds, runBatch };
}

/** Targets per batch of a paged fan-out. */
export function batchSizeOf(policy: JobPolicy): number {
  return Math.max(1, policy.batchSize ?? 50);
}

/** The delays are the activity's (nextRetryDelay: attempt² backoff, Retry-After); these are the fallback and the bound. */
function effectRetry(maximumAttempts: number): RetryPolicy {
  return { maximumAttempts, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5m' };
}

/** The job-level log line: local, since it only writes to the worker's log. */
export const { reportJob } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s' });
