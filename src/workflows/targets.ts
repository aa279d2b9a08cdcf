/**
 * Runs one effect activity per target with bounded concurrency. Used by the job workflow for small jobs
 * and by jobTargetsWorkflow, the child that takes one chunk of a large fan-out.
 */
import { ActivityFailure, ApplicationFailure } from '@temporalio/workflow';
import { jobActivities } from './activities';
import { FAILURE_TYPES, type DeadTarget, type EffectInput, type JobPolicy, type TargetId, type TargetsInput, type TargetsResult } from './types';

export async function runTargets(
  base: Omit<EffectInput, 'targetId' | 'maxAttempts'>,
  targetIds: TargetId[],
  policy: JobPolicy,
  onDone: (outcome: { target: TargetId; dead?: DeadTarget }) => void,
): Promise<TargetsResult> {
  const { runEffect } = jobActivities(policy);
  const result: TargetsResult = { completed: 0, dead: [] };
  let next = 0;
  const lane = async () => {
    while (next < targetIds.length) {
      const target = targetIds[next++];
      try {
        await runEffect({ ...base, targetId: target, maxAttempts: policy.maxAttempts });
        result.completed++;
        onDone({ target });
      } catch (err) {
        const dead = deadTarget(target, err);
        result.dead.push(dead);
        onDone({ target, dead });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(policy.concurrency, targetIds.length) }, lane));
  return result;
}

function deadTarget(target: TargetId, err: unknown): DeadTarget {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const type = cause.type === FAILURE_TYPES.transient ? FAILURE_TYPES.exhausted : (cause.type ?? undefined);
    return { target, reason: cause.message, type };
  }
  return { target, reason: cause instanceof Error ? cause.message : String(cause) };
}

/** Child workflow: one chunk of a large fan-out, so each history stays far below Temporal's limits. */
export async function jobTargetsWorkflow(input: TargetsInput): Promise<TargetsResult> {
  const { targetIds, policy, ...base } = input;
  return runTargets(base, targetIds, policy, () => undefined);
}
