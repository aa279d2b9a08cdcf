/**
 * runEffects: several targets of one job in one activity, each run exactly as runEffect runs it (runTarget).
 *
 * A fan-out of one activity per target is bound by Temporal's per-activity cost (schedule, dispatch,
 * completion, a workflow task each), not by the sends: batching divides that cost by the batch size. The
 * price is that Temporal no longer retries a target on its own, so a batch reports what became of each
 * target and never throws for one of them; the workflow runs a target that failed transiently again alone,
 * through runEffect and its retries (src/workflows/targets.ts).
 */
import { Context } from '@temporalio/activity';
import { mapLimit } from '../map-limit';
import type { EffectsInput, TargetOutcome } from '../workflows/types';
import { runTarget, type EffectDeps } from './effect';

export function createRunEffects(deps: EffectDeps) {
  return async function runEffects(input: EffectsInput): Promise<TargetOutcome[]> {
    const { targetIds, concurrency, ...base } = input;
    // A retried batch (or one after earlier attempts) counts on like runEffect does; from attempt 2 on,
    // runTarget looks each send up in the sent-ledger, since the earlier attempt may have made it.
    const attempt = Context.current().info.attempt + (input.priorAttempts ?? 0);
    return mapLimit(targetIds, concurrency, async (target): Promise<TargetOutcome> => {
      // No progress callback: a heartbeat per target would cost a server call each; the ledgers stand in for it.
      const result = await runTarget(deps, { ...base, record: base.record ?? {}, targetId: target }, { attempt });
      if ('failure' in result) return { target, status: 'failed', ...result.failure };
      return { target, status: result.skipped ? 'skipped' : 'completed' };
    });
  };
}
