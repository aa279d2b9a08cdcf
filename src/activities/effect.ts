/** runEffect: the requests of one target, sandboxed, through the provider registry; runTarget is that work, shared with runEffects. */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { Artifact } from '../artifact/types';
import type { RuntimeConfig } from '../config/types';
import { buildRequests, type JobHandler } from '../effects/build';
import type { EffectResult } from '../effects/types';
import { isPermanent, PermanentError, SandboxViolation, TransientError } from '../errors';
import type { Logger } from '../log';
import type { ProviderRegistry } from '../providers/registry';
import type { Pacer } from '../rate/pacer';
import { backoffMs } from '../retry/backoff';
import { targetByIdQuery } from '../sql/targets';
import { SIGNAL } from '../names';
import { FAILURE_TYPES, type AttemptFailed, type EffectFailure, type EffectInput, type Row } from '../workflows/types';
import { effectKey } from './keys';
import { alreadySent, isLedgered, recordSent, type SentLookup } from './sent-ledger';
import { countJob } from './metrics';
import type { JobInputs } from './records';

export interface EffectDeps {
  pool: Pool;
  providers: ProviderRegistry;
  artifact: Artifact;
  config: RuntimeConfig;
  handlers: Record<string, JobHandler>;
  logger: Logger;
  /** a rate lane's worker: each send waits for its turn (src/rate/pacer.ts) */
  pacer?: Pacer;
  /** job run inputs by reference (./records.ts): where an input without the record finds it */
  jobs: JobInputs;
}

export interface EffectOutcome {
  results: EffectResult[];
  /** the target was deleted between resolution and its effect */
  skipped?: boolean;
}

/** One target's run, as the activity running it (runEffect alone, runEffects in a batch) sees it. */
export interface TargetAttempt {
  /** this target's attempt, counting those made before the current activity (input.priorAttempts) */
  attempt: number;
  /** requests of this target an earlier attempt of the same activity finished (its heartbeat details) */
  resumeFrom?: number;
  /** records that many requests done, for a retry to resume from; a batch has none and relies on the ledgers */
  progress?: (done: number) => void;
  /** the target's row, when the caller loaded it with its page */
  target?: Row;
  /** an earlier attempt may have sent (default: attempt > 1 or a redrive): sends are looked up in the ledger */
  mayHaveSent?: boolean;
  /** the ledger's answers read for the whole page (a batch's); a send they do not cover is looked up alone */
  sent?: SentLookup;
  /** false: a failed attempt is not signalled to the job workflow (a batch's parts report counts instead) */
  announce?: boolean;
}

/** An effect's input with the trigger record in hand. */
export type TargetInput = EffectInput & { record: Row };

export type TargetResult = EffectOutcome | { failure: EffectFailure };

/** runEffect: one activity per target, retried by Temporal; a failure is thrown for Temporal to act on. */
export function createRunEffect(deps: EffectDeps) {
  return async function runEffect(input: EffectInput): Promise<EffectOutcome> {
    const ctx = Context.current();
    const outcome = await runTarget(deps, await withRecord(deps, input), {
      attempt: ctx.info.attempt + (input.priorAttempts ?? 0),
      resumeFrom: (ctx.info.heartbeatDetails as number | undefined) ?? 0,
      progress: (done) => ctx.heartbeat(done),
    });
    if ('failure' in outcome) throw toApplicationFailure(outcome.failure);
    return outcome;
  };
}

/**
 * The requests of one target, sandboxed, through the provider registry: the work runEffect and runEffects
 * share. Never throws: a failure comes back classified (and logged, counted, announced) by classify.
 */
export async function runTarget(deps: EffectDeps, input: TargetInput, run: TargetAttempt): Promise<TargetResult> {
  const { attempt } = run;
  const started = Date.now();
  try {
    const job = deps.artifact.jobs[input.job];
    if (!job) throw new PermanentError(`job ${input.job} is not in this worker's artifact`);
    const target = run.target ?? (await loadTarget(deps, input));
    if (!target) return { results: [], skipped: true };
    const requests = await buildRequests(
      job,
      { job: input.job, operation: input.operation, entity: input.entity, trigger: input.record, target },
      deps.handlers[input.job],
      deps.config.jobs.templates[input.job],
    );
    // Requests done by an earlier attempt of this activity are not sent again.
    const done = run.resumeFrom ?? 0;
    const results: EffectResult[] = [];
    for (let i = 0; i < requests.length; i++) {
      const request = requests[i];
      // Sandbox, point 3: the capability must be declared in the workflow input and in this worker's artifact.
      if (!input.capabilities.includes(request.capability) || !job.capabilities.includes(request.capability)) {
        throw new SandboxViolation(input.job, request.capability, job.capabilities);
      }
      if (i < done) continue;
      const provider = deps.providers.get(request.capability);
      if (!provider) throw new PermanentError(`no provider serves ${request.capability}`);
      const idempotencyKey = effectKey(input.jobWorkflowId, input.targetId, i);
      // Email and HTTP sends confirmed by an earlier attempt are in the ledger (./sent-ledger): not sent again.
      // Only a retry, a redrive or a fallback after a batch (whose attempt counts on from the batch's) can have
      // had an earlier attempt, so a first attempt skips the lookup.
      const ledgered = isLedgered(request.capability);
      const mayHaveSent = run.mayHaveSent ?? (attempt > 1 || input.redrive === true);
      if (ledgered && mayHaveSent && (run.sent?.(idempotencyKey) ?? (await alreadySent(deps.pool, idempotencyKey)))) {
        deps.logger.info('effect.already_sent', {
          job_id: input.jobWorkflowId,
          name: input.job,
          target_id: input.targetId,
          capability: request.capability,
          attempt,
        });
        results.push({ capability: request.capability, detail: { duplicate: true } });
        if (i + 1 < requests.length) run.progress?.(i + 1);
        continue;
      }
      const sent = await deps.pacer?.take();
      try {
        results.push(await provider.execute(request, { idempotencyKey, job: input.job, workflowId: input.jobWorkflowId, attempt }));
      } finally {
        sent?.();
      }
      if (ledgered && !provider.recordsSent)
        await recordSent(deps.pool, idempotencyKey, deps.logger, {
          job_id: input.jobWorkflowId,
          name: input.job,
          target_id: input.targetId,
        });
      // Progress for a retry to resume from; after the last request the completion says it (a heartbeat
      // there would cost one more server call per target).
      if (i + 1 < requests.length) run.progress?.(i + 1);
    }
    deps.logger.debug('effect.completed', {
      job_id: input.jobWorkflowId,
      name: input.job,
      target_id: input.targetId,
      capabilities: results.map((r) => r.capability),
      duration_ms: Date.now() - started,
    });
    return { results };
  } catch (err) {
    return { failure: await classify(deps, input, attempt, err, run.announce !== false) };
  }
}

/** The input with its trigger record: carried (histories from before records by reference) or read. */
async function withRecord(deps: EffectDeps, input: EffectInput): Promise<TargetInput> {
  if (input.record) return input as TargetInput;
  if (!input.jobRunId)
    throw ApplicationFailure.create({
      type: FAILURE_TYPES.permanent,
      message: 'effect input has neither the record nor its job run',
      nonRetryable: true,
    });
  const job = await deps.jobs.read({ workflowId: input.jobWorkflowId, runId: input.jobRunId });
  return { ...input, record: job.record };
}

async function loadTarget(deps: EffectDeps, input: TargetInput): Promise<Row | undefined> {
  if (input.targetEntity === input.entity && String(input.record.id) === String(input.targetId)) return input.record;
  const entity = deps.artifact.entities[input.targetEntity];
  if (!entity) throw new PermanentError(`entity ${input.targetEntity} is not in this worker's artifact`);
  const q = targetByIdQuery(entity.table, input.targetId);
  try {
    const { rows } = await deps.pool.query(q.text, q.values);
    return rows[0];
  } catch (err) {
    throw new TransientError(`loading ${input.targetEntity} ${input.targetId}: ${(err as Error).message}`);
  }
}

/** Classifies any error as the workflow and Temporal act on it (FAILURE_TYPES), and says so in the log. */
async function classify(deps: EffectDeps, input: EffectInput, attempt: number, err: unknown, announce: boolean): Promise<EffectFailure> {
  const message = err instanceof Error ? err.message : String(err);
  const base = { job_id: input.jobWorkflowId, name: input.job, target_id: input.targetId };
  if (err instanceof SandboxViolation) {
    countJob('sandbox', { job: input.job });
    deps.logger.error('job.sandbox_violation', { ...base, attempted: err.attempted, allowed: err.allowed });
    return { type: FAILURE_TYPES.sandbox, message, nonRetryable: true };
  }
  if (isPermanent(err)) {
    // code: why, in one word (ssrf_refused, payload_too_large, smtp_rejected, …), for logs and alerts
    deps.logger.warn('job.failed', {
      ...base,
      attempt,
      max_attempts: input.maxAttempts,
      error: message,
      permanent: true,
      code: (err as PermanentError).code,
    });
    return { type: FAILURE_TYPES.permanent, message, nonRetryable: true };
  }
  // A send the breaker did not try (src/providers/breaker.ts) is one of thousands alike: the breaker said once
  // that it opened (provider.failing), so each of them is a debug line.
  const refused = err instanceof TransientError && err.code === 'provider_failing';
  deps.logger[refused ? 'debug' : 'warn']('job.failed', { ...base, attempt, max_attempts: input.maxAttempts, error: message });
  if (attempt < input.maxAttempts) {
    countJob('retried', { job: input.job });
    if (announce) await announceRetry(input, attempt, message);
  }
  const retryAfterMs = err instanceof TransientError ? err.retryAfterMs : undefined;
  return { type: FAILURE_TYPES.transient, message, nonRetryable: false, retryAfterMs: backoffMs(attempt, { retryAfterMs }) };
}

/** The failure Temporal acts on: non-retryable, or retried after the classified delay. */
function toApplicationFailure(failure: EffectFailure): ApplicationFailure {
  const { type, message, nonRetryable, retryAfterMs } = failure;
  if (nonRetryable) return ApplicationFailure.create({ type, message, nonRetryable: true });
  return ApplicationFailure.create({ type, message, nextRetryDelay: retryAfterMs });
}

/** Lets the job workflow show `failed` while a retry is pending; losing this signal loses nothing but the hint. */
async function announceRetry(input: EffectInput, attempt: number, error: string): Promise<void> {
  try {
    await Context.current()
      .client.workflow.getHandle(input.jobWorkflowId)
      .signal<[AttemptFailed]>(SIGNAL.attemptFailed, { target: input.targetId, attempt, error });
  } catch {
    // the workflow may have closed meanwhile
  }
}
