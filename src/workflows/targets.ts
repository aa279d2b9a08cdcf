/**
 * Runs a job's targets with bounded concurrency: one effect activity per target, or (a large job, see
 * `batched` in ./job.ts) batches of targets per activity. Used by the job workflow for jobs up to one chunk
 * and by jobTargetsWorkflow, the child that takes one chunk of a large fan-out.
 */
import { ActivityFailure, ApplicationFailure, sleep } from '@temporalio/workflow';
import { batchActivities, jobActivities } from './activities';
import { mapLimit } from '../map-limit';
import {
  FAILURE_TYPES,
  type DeadTarget,
  type EffectInput,
  type JobPolicy,
  type TargetId,
  type TargetOutcome,
  type TargetsInput,
  type TargetsResult,
} from './types';

type Base = Omit<EffectInput, 'targetId' | 'maxAttempts'>;
/** A target's end: completed (or skipped), or dead with its reason. */
type Settle = (target: TargetId, dead?: DeadTarget) => void;

export async function runTargets(
  base: Base,
  targetIds: TargetId[],
  policy: JobPolicy,
  onDone: (outcome: { target: TargetId; dead?: DeadTarget }) => void,
  batched = false,
): Promise<TargetsResult> {
  const result: TargetsResult = { completed: 0, dead: [] };
  const settle: Settle = (target, dead) => {
    if (dead) result.dead.push(dead);
    else result.completed++;
    onDone({ target, dead });
  };
  if (batched) await runBatches(base, targetIds, policy, settle);
  else await runEach(base, targetIds, policy, settle);
  return result;
}

/** One runEffect activity per target, Temporal retrying each: `concurrency` in flight. */
async function runEach(base: Base, targetIds: TargetId[], policy: JobPolicy, settle: Settle): Promise<void> {
  const { runEffect } = jobActivities(policy);
  await mapLimit(targetIds, policy.concurrency, async (target) => {
    try {
      await runEffect({ ...base, targetId: target, maxAttempts: policy.maxAttempts });
      settle(target);
    } catch (err) {
      settle(target, deadTarget(target, err));
    }
  });
}

/**
 * `batchSize` targets per runEffects activity, still `concurrency` effects in flight: several batches at once,
 * each running its targets `concurrency` at a time when it has more. A batch is attempt 1 of each of its
 * targets: permanent and sandbox failures are dead at once, and a transient one goes on alone through
 * runEffect, its attempts counting on from the batch's, so its retries, backoff and attempt signals are
 * those of a target that never was in a batch.
 */
async function runBatches(base: Base, targetIds: TargetId[], policy: JobPolicy, settle: Settle): Promise<void> {
  const size = Math.max(1, policy.batchSize ?? 1);
  const inBatch = Math.max(1, Math.min(size, policy.concurrency));
  const { runEffects, runEffectAfterBatch } = batchActivities(policy, Math.ceil(size / inBatch));
  const batches: TargetId[][] = [];
  for (let i = 0; i < targetIds.length; i += size) batches.push(targetIds.slice(i, i + size));

  await mapLimit(batches, Math.floor(policy.concurrency / inBatch), async (batch) => {
    let outcomes: TargetOutcome[];
    try {
      outcomes = await runEffects({ ...base, targetIds: batch, maxAttempts: policy.maxAttempts, concurrency: inBatch });
    } catch (err) {
      // The batch failed as a whole (its worker died, it timed out, this worker has no runEffects): any of its
      // targets may have been sent, so each goes on alone, and finds its confirmed sends in the sent-ledger.
      const message = messageOf(err);
      outcomes = batch.map((target) => ({ target, status: 'failed', type: FAILURE_TYPES.transient, message, nonRetryable: false }));
    }
    const alone: TargetId[] = [];
    let delayMs = 0;
    for (const outcome of outcomes) {
      if (outcome.status !== 'failed') settle(outcome.target);
      else if (outcome.nonRetryable || policy.maxAttempts <= 1)
        settle(outcome.target, deadOf(outcome.target, outcome.type, outcome.message));
      else {
        alone.push(outcome.target);
        delayMs = Math.max(delayMs, outcome.retryAfterMs ?? 0);
      }
    }
    if (alone.length === 0) return;
    // One timer for the batch: the longest backoff (or Retry-After) any of its failed targets asked for.
    if (delayMs > 0) await sleep(delayMs);
    await Promise.all(
      alone.map(async (target) => {
        try {
          await runEffectAfterBatch({ ...base, targetId: target, maxAttempts: policy.maxAttempts, priorAttempts: 1 });
          settle(target);
        } catch (err) {
          settle(target, deadTarget(target, err));
        }
      }),
    );
  });
}

function deadTarget(target: TargetId, err: unknown): DeadTarget {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) return deadOf(target, cause.type ?? undefined, cause.message);
  return { target, reason: messageOf(err) };
}

/** A transient failure that ends a target is one whose retries are exhausted. */
function deadOf(target: TargetId, type: string | undefined, reason: string): DeadTarget {
  return { target, reason, type: type === FAILURE_TYPES.transient ? FAILURE_TYPES.exhausted : type };
}

function messageOf(err: unknown): string {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

/** Child workflow: one chunk of a large fan-out, so each history stays far below Temporal's limits. */
export async function jobTargetsWorkflow(input: TargetsInput): Promise<TargetsResult> {
  const { targetIds, policy, batched, ...base } = input;
  return runTargets(base, targetIds, policy, () => undefined, batched === true);
}
