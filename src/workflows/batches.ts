/**
 * One round of a part's batches (./part.ts): a sliding window of runBatch activities over the round's units,
 * each batch answering in counts, the failed-with-attempts-left targets gathered for the next round.
 */
import { workflowInfo } from '@temporalio/workflow';
import { batchSizeOf, pagedActivities } from './activities';
import { DEAD_SAMPLES, type BatchResult, type DeadTarget, type PartCarry, type PartInput } from './types';

/** Batches in flight per part: one running while the next is dispatched. */
export const BATCH_WINDOW = 2;

/**
 * Runs `carry.units` of the round `carry.attempt`, BATCH_WINDOW at a time, folding each batch's answer into
 * `carry`. Stops taking new batches once the history passes `historyLimit` events; the batches not run
 * stay in `carry.units` for the part to continue as new with.
 */
export async function runRound(input: PartInput, carry: PartCarry, historyLimit: number): Promise<void> {
  const { policy } = input;
  const { runBatch } = pagedActivities(policy);
  const units = carry.units;
  const size = batchSizeOf(policy);
  let next = 0;
  const lane = async () => {
    while (next < units.length && workflowInfo().historyLength < historyLimit) {
      const unit = units[next++];
      const result = await runBatch({
        jobRef: input.jobRef,
        targetEntity: input.targetEntity,
        unit,
        attempt: carry.attempt,
        maxAttempts: policy.maxAttempts,
        concurrency: Math.max(1, Math.min(size, policy.concurrency)),
        pageSize: size,
      });
      absorb(carry, result);
    }
  };
  // A rate lane's batches are small (src/rate/lanes.ts): enough of them in flight that the rate, not the
  // round trip of each, sets the pace.
  const window = policy.lane ? Math.max(BATCH_WINDOW, Math.ceil(policy.concurrency / size)) : BATCH_WINDOW;
  await Promise.all(Array.from({ length: Math.min(window, units.length) }, lane));
  carry.units = units.slice(next);
}

function absorb(carry: PartCarry, result: BatchResult): void {
  carry.totals.completed += result.completed;
  carry.totals.dead += result.dead;
  carry.totals.retried += result.retry.length;
  keepSamples(carry.samples, result.samples);
  for (const id of result.retry) carry.pending.push(id);
  carry.delayMs = Math.max(carry.delayMs, result.retryAfterMs);
}

export function keepSamples(samples: DeadTarget[], more: DeadTarget[]): void {
  for (const dead of more) {
    if (samples.length >= DEAD_SAMPLES) return;
    samples.push(dead);
  }
}
