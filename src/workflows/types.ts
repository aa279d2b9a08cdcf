/** Messages between client, workflows and activities. Everything here lands in history: ids and names, no secrets. */
import type { JobState } from '../shared';

export type Row = Record<string, unknown>;
export type TargetId = string | number;

export interface JobPolicy {
  /** attempts per effect, including the first */
  maxAttempts: number;
  /** start-to-close timeout of one effect attempt */
  timeoutMs: number;
  /** targets handled by one workflow before the job fans out to child workflows */
  chunkSize: number;
  /** effects in flight per workflow */
  concurrency: number;
  /** child workflows in flight per job */
  childConcurrency: number;
  /**
   * targets per runEffects activity when a job is batched. Optional, like batchThreshold: inputs recorded
   * before batching lack both, and such a job keeps one activity per target.
   */
  batchSize?: number;
  /** jobs with more targets than this are batched; smaller ones keep one activity per target (latency, history) */
  batchThreshold?: number;
  /**
   * a rate-limited job (src/rate/lanes.ts): its effects run one target per activity on the lane's task queue,
   * each allowed `waitMs` more than `timeoutMs` for its worker's spacing of the lane's sends
   */
  lane?: { taskQueue: string; waitMs: number };
}

export interface JobInput {
  eventId: string;
  job: string;
  entity: string;
  operation: 'create' | 'update' | 'delete';
  /** the row as the app committed it */
  record: Row;
  /** the job's declared capabilities, copied from the artifact when the workflow starts (sandbox, point 2) */
  capabilities: string[];
  policy: JobPolicy;
  /** a redrive: only these targets run (the ones that were dead) */
  onlyTargets?: TargetId[];
}

export interface TargetsInput extends Omit<JobInput, 'onlyTargets'> {
  /** the job workflow, which receives attempt signals */
  jobWorkflowId: string;
  targetEntity: string;
  targetIds: TargetId[];
  redrive?: true;
  /** run the targets in batches (the job workflow decided, behind its `batched-effects` patch) */
  batched?: true;
}

export interface DeadTarget {
  target: TargetId;
  reason: string;
  /** FAILURE_TYPES value: why it is dead */
  type?: string;
  /** attempts made for this target, when the job workflow saw them */
  attempts?: number;
}

export interface TargetsResult {
  completed: number;
  dead: DeadTarget[];
}

export interface JobResult extends TargetsResult {
  state: JobState;
  targets: number;
  targetEntity?: string;
}

export interface EffectInput extends Omit<JobInput, 'onlyTargets' | 'policy'> {
  jobWorkflowId: string;
  targetEntity: string;
  targetId: TargetId;
  /** for the job.failed log line; Temporal's retry policy enforces it */
  maxAttempts: number;
  /** a run started by retry(): an earlier run may have sent this target's requests */
  redrive?: true;
  /** attempts made before this activity (a batch's): its attempts continue the count, and it checks the sent-ledger */
  priorAttempts?: number;
}

/** One runEffects activity: several targets of a job, each as runEffect would run it. */
export interface EffectsInput extends Omit<EffectInput, 'targetId'> {
  targetIds: TargetId[];
  /** targets in flight inside this batch */
  concurrency: number;
}

/** What became of one target of a batch. A failure is reported, never thrown: the batch's other targets stand. */
export type TargetOutcome =
  | { target: TargetId; status: 'completed' }
  /** deleted between resolution and its effect */
  | { target: TargetId; status: 'skipped' }
  | ({ target: TargetId; status: 'failed' } & EffectFailure);

/** A target's failure as the effect activity classified it (FAILURE_TYPES). */
export interface EffectFailure {
  type: string;
  message: string;
  /** permanent and sandbox failures: never retried */
  nonRetryable: boolean;
  /** transient failures: the delay before the next attempt (attempt² backoff or the server's Retry-After, with jitter) */
  retryAfterMs?: number;
}

export interface JobReport {
  workflowId: string;
  job: string;
  state: 'completed' | 'dead';
  targets: number;
  completed: number;
  dead: number;
  reason?: string;
  /** the most attempts any dead target took */
  attempts?: number;
  startedAt: number;
}

export interface AttemptFailed {
  target: TargetId;
  attempt: number;
  error: string;
}

/** Failure types the effect activity throws; the workflow and the dead-letter list read them. */
export const FAILURE_TYPES = {
  sandbox: 'SandboxViolation',
  permanent: 'PermanentError',
  transient: 'TransientError',
  exhausted: 'RetriesExhausted',
  needs: 'NeedsResolution',
  dead: 'JobDead',
} as const;
