/**
 * jobPartWorkflow: one part of a paged fan-out, the targets of one id range of its job.
 *
 * The shape is Temporal's own batch patterns combined: a child workflow per part (a sliding window of them in
 * the job, ./job.ts), each walking its range in batches whose bounds one query gives (never an id list of the
 * whole job in a payload), an activity per batch, and continue-as-new when the part's own history grows past
 * `partHistoryLimit`. Children rather than one iterator: parts run side by side, a part's failure is its own,
 * and the job's history grows by a few events per part. Failed targets are retried in rounds, one timer per
 * round rather than a retry policy per target, so a provider outage over 100,000 targets costs a few events
 * per batch, not per attempt.
 */
import { continueAsNew, getExternalWorkflowHandle, sleep, workflowInfo } from '@temporalio/workflow';
import { batchSizeOf, pagedActivities } from './activities';
import { runRound } from './batches';
import { partProgressSignal } from './state';
import type { PartCarry, PartInput, PartResult, TargetId, TargetRange } from './types';

const DEFAULT_HISTORY_LIMIT = 4000;

export async function jobPartWorkflow(input: PartInput): Promise<PartResult> {
  const { policy } = input;
  const size = batchSizeOf(policy);
  const historyLimit = policy.partHistoryLimit ?? DEFAULT_HISTORY_LIMIT;
  let carry: PartCarry;
  if (input.carry) carry = input.carry;
  else {
    const { targetBounds } = pagedActivities(policy);
    const bounds = await targetBounds({ jobRef: input.jobRef, targetEntity: input.targetEntity, range: input.range, every: size });
    carry = {
      attempt: 1,
      units: ranges(input.range, bounds),
      pending: [],
      delayMs: 0,
      totals: { completed: 0, dead: 0, retried: 0 },
      samples: [],
    };
  }

  for (;;) {
    await runRound(input, carry, historyLimit);
    if (carry.units.length > 0) return continueAsNew<typeof jobPartWorkflow>({ ...input, carry });
    // The batch decides a target is dead on its last attempt, so nothing is pending past maxAttempts.
    if (carry.pending.length === 0) break;
    await report(input, carry);
    await sleep(policy.retryDelayMs ?? carry.delayMs);
    carry.attempt++;
    carry.units = chunk(carry.pending, size).map((targetIds) => ({ targetIds }));
    carry.pending = [];
    carry.delayMs = 0;
    if (workflowInfo().historyLength >= historyLimit) return continueAsNew<typeof jobPartWorkflow>({ ...input, carry });
  }
  return { ...carry.totals, samples: carry.samples };
}

/** The job shows `failed` while a part has targets waiting for a retry; losing this signal loses only that hint. */
async function report(input: PartInput, carry: PartCarry): Promise<void> {
  try {
    await getExternalWorkflowHandle(input.jobRef.workflowId, input.jobRef.runId).signal(partProgressSignal, {
      part: input.part,
      ...carry.totals,
      retrying: carry.pending.length,
    });
  } catch {
    // the job closed meanwhile
  }
}

/** The batches of a range from their upper bounds: each after the previous bound, through its own. */
function ranges(range: TargetRange, bounds: TargetId[]): Array<{ range: TargetRange }> {
  let after = range.after;
  return bounds.map((through) => {
    const unit = { range: after === undefined ? { through } : { after, through } };
    after = through;
    return unit;
  });
}

function chunk<T>(items: T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}
