/**
 * The activities of a paged fan-out's part (src/workflows/part.ts): targetBounds splits the part's range into
 * batches, runBatch runs one batch. A batch reads its targets itself (a range of the job's targets, one page
 * at a time, or the ids a retry round names), runs each as runEffect would (runTarget), stores the targets
 * that end dead, and answers in counts: what crosses into history is bounded by the batch, not the job.
 */
import { Context } from '@temporalio/activity';
import { PermanentError } from '../errors';
import { boundsQuery, insertDeadTargets, pageQuery, rowsByIdQuery } from '../sql/pages';
import { mapLimit } from '../map-limit';
import {
  DEAD_SAMPLES,
  FAILURE_TYPES,
  type BatchInput,
  type BatchResult,
  type BoundsInput,
  type DeadTarget,
  type Row,
  type TargetId,
} from '../workflows/types';
import { runTarget, type EffectDeps } from './effect';
import { effectKey } from './keys';
import { isLedgered, sentAmong } from './sent-ledger';
import { queryTargets, targetSource, type TargetSource } from './source';

/** A batch heartbeats this often while it runs, so a batch whose worker died is retried within its heartbeat timeout. */
const HEARTBEAT_MS = 1000;

export function createTargetBounds(deps: EffectDeps) {
  return async function targetBounds(input: BoundsInput): Promise<TargetId[]> {
    const source = await targetSource(deps, input.jobRef);
    if (!source.scope) throw new PermanentError(`job ${source.input.job} has no paged targets`);
    const q = boundsQuery(source.scope, input.every, input.range);
    return (await queryTargets(deps, source.input.job, q.text, q.values)).map((r) => r.id as TargetId);
  };
}

export function createRunBatch(deps: EffectDeps) {
  return async function runBatch(input: BatchInput): Promise<BatchResult> {
    const ctx = Context.current();
    const source = await targetSource(deps, input.jobRef);
    const { input: job } = source;
    const redrive = job.onlyTargets !== undefined || job.redriveOf !== undefined;
    const base = {
      eventId: job.eventId,
      job: job.job,
      entity: job.entity,
      operation: job.operation,
      record: job.record,
      capabilities: job.capabilities,
      jobWorkflowId: input.jobRef.workflowId,
      targetEntity: input.targetEntity,
      maxAttempts: input.maxAttempts,
      ...(redrive && { redrive: true as const }),
    };
    // A batch run again by Temporal (its worker died) may have sent some of its targets: the ledger says which.
    const mayHaveSent = input.attempt > 1 || ctx.info.attempt > 1 || redrive;
    // Then one ledger lookup per page, for the first request of each target (most jobs make one); any other asks alone.
    const lookUpPages = mayHaveSent && job.capabilities.some(isLedgered);
    const result: BatchResult = { completed: 0, dead: 0, samples: [], retry: [], retryAfterMs: 0 };
    const heartbeat = setInterval(() => ctx.heartbeat(), HEARTBEAT_MS);
    try {
      for await (const page of pages(deps, source, input)) {
        const dead: DeadTarget[] = [];
        const sent = lookUpPages
          ? await sentAmong(
              deps.pool,
              page.filter((t) => t.row).map((t) => effectKey(input.jobRef.workflowId, t.id, 0)),
            )
          : undefined;
        await mapLimit(page, input.concurrency, async ({ id, row }) => {
          if (!row) {
            // deleted since the job was resolved: nothing to do, as runEffect skips it
            result.completed++;
            return;
          }
          const outcome = await runTarget(
            deps,
            { ...base, targetId: id },
            { attempt: input.attempt, target: row, mayHaveSent, sent, announce: false },
          );
          if (!('failure' in outcome)) result.completed++;
          else if (!outcome.failure.nonRetryable && input.attempt < input.maxAttempts) {
            result.retry.push(id);
            result.retryAfterMs = Math.max(result.retryAfterMs, outcome.failure.retryAfterMs ?? 0);
          } else {
            const { type, message } = outcome.failure;
            dead.push({
              target: id,
              reason: message,
              type: type === FAILURE_TYPES.transient ? FAILURE_TYPES.exhausted : type,
              attempts: input.attempt,
            });
          }
        });
        if (dead.length > 0) {
          const q = insertDeadTargets(
            input.jobRef.workflowId,
            input.jobRef.runId,
            dead.map((d) => ({ target: String(d.target), type: d.type, reason: d.reason, attempts: d.attempts ?? input.attempt })),
          );
          await deps.pool.query(q.text, q.values);
          result.dead += dead.length;
          result.samples.push(...dead.slice(0, DEAD_SAMPLES - result.samples.length));
        }
      }
    } finally {
      clearInterval(heartbeat);
    }
    return result;
  };
}

/** The batch's targets, a page at a time: rows of its range (keyset), or the rows of the ids it names. */
async function* pages(deps: EffectDeps, source: TargetSource, input: BatchInput): AsyncGenerator<Array<{ id: TargetId; row?: Row }>> {
  if ('targetIds' in input.unit) {
    yield await byId(deps, source, input.unit.targetIds);
    return;
  }
  if (!source.scope) throw new PermanentError(`job ${source.input.job} has no paged targets`);
  const { through } = input.unit.range;
  let after = input.unit.range.after;
  for (;;) {
    const q = pageQuery(source.scope, { after, through }, input.pageSize, source.idsOnly ? 'ids' : 'rows');
    const rows = await queryTargets(deps, source.input.job, q.text, q.values);
    if (rows.length === 0) return;
    yield source.idsOnly
      ? await byId(
          deps,
          source,
          rows.map((r) => r.id as TargetId),
        )
      : rows.map((row) => ({ id: row.id as TargetId, row }));
    after = rows[rows.length - 1].id as TargetId;
    // A short page is the range's last; so is one that ends on its bound (bounds are target ids): asking again
    // would only return nothing, a statement per batch.
    if (rows.length < input.pageSize || String(after) === String(through)) return;
  }
}

async function byId(deps: EffectDeps, source: TargetSource, ids: TargetId[]): Promise<Array<{ id: TargetId; row?: Row }>> {
  const q = rowsByIdQuery(source.table, ids);
  const rows = await queryTargets(deps, source.input.job, q.text, q.values);
  const found = new Map(rows.map((row) => [String(row.id), row]));
  return ids.map((id) => ({ id, row: found.get(String(id)) }));
}
