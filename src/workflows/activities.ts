/**
 * The activities as the workflows see them: types only, no activity code in the bundle. Timeouts come from
 * the job's policy (its input), so tests and replays choose them, and a dead worker's task is retried after
 * the job's own timeout rather than a fixed minute.
 */
import { proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { createActivities } from '../activities';
import type { JobPolicy } from './types';

type Activities = ReturnType<typeof createActivities>;

/** Non-retryable failures are decided by the activity (ApplicationFailure.nonRetryable); the policy adds the bounds. */
export function jobActivities(policy: JobPolicy) {
  const { runEffect } = proxyActivities<Activities>({
    startToCloseTimeout: policy.timeoutMs,
    retry: { maximumAttempts: policy.maxAttempts, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '5m' },
  });
  // Needs resolution reads only: it may retry longer than an effect, to ride out a database restart.
  const { resolveTargets } = proxyActivities<Activities>({
    startToCloseTimeout: policy.timeoutMs,
    retry: { maximumAttempts: 10, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '1m' },
  });
  return { runEffect, resolveTargets };
}

/** The job-level log line: local, since it only writes to the worker's log. */
export const { reportJob } = proxyLocalActivities<Activities>({ startToCloseTimeout: '10s' });
