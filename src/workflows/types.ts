/** Messages between client, workflows and activities. Everything here lands in history: ids and names, no secrets. */
import type { JobState } from '../names';

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
   * a rate-limited job (src/rate/lanes.ts): its effects run on the lane's task queue, at most `batchSize` targets a task,
   * each allowed `waitMs` more than `timeoutMs` for its worker's spacing of the lane's sends
   */
  lane?: { taskQueue: string; waitMs: number };
  /** targets per jobPartWorkflow of a paged fan-out (./part.ts); the job's history grows by a few events per part */
  partSize?: number;
  /** the pause before each retry round of a paged fan-out; default the backoff its failed attempts asked for */
  retryDelayMs?: number;
  /** events after which a part continues as new, far below Temporal's 10,240-event warning */
  partHistoryLimit?: number;
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
  /** a redrive of a paged job: only the dead targets this earlier run stored (forge_jobs.dead_targets) run */
  redriveOf?: string;
}

/**
 * A job run, by reference: its input (the trigger record above all) is in the first event of its history,
 * and activities read it from there (src/activities/records.ts) instead of every input carrying it.
 */
export interface JobRef {
  workflowId: string;
  runId: string;
}

export interface TargetsInput extends Omit<JobInput, 'onlyTargets' | 'redriveOf'> {
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

export interface EffectInput extends Omit<JobInput, 'onlyTargets' | 'policy' | 'record' | 'redriveOf'> {
  /** the trigger record; absent when `jobRunId` says where to read it (the job run's input) */
  record?: Row;
  jobRunId?: string;
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

/** resolveTargets' input: the record itself (histories from before paging) or the job run that holds it. */
export interface ResolveInput {
  job: string;
  entity: string;
  record?: Row;
  jobRef?: JobRef;
  /** a paged fan-out: up to `threshold` targets come back as ids, more as the bounds of parts of `partSize` */
  paged?: { threshold: number; partSize: number };
}

export type ResolvedTargets =
  | { targetEntity: string; targetIds: TargetId[] }
  /** parts[i] is the last id of part i; part i runs the ids after parts[i - 1] through parts[i] */
  | { targetEntity: string; total: number; parts: TargetId[] };

/** Ids after `after` (from the first when absent) through `through`, in the order of the id column. */
export interface TargetRange {
  after?: TargetId;
  through: TargetId;
}

/** One batch's targets: a range of the job's targets (the first round), or the ids a retry round runs. */
export type BatchUnit = { range: TargetRange } | { targetIds: TargetId[] };

export interface BatchInput {
  jobRef: JobRef;
  targetEntity: string;
  unit: BatchUnit;
  /** the attempt every target of this batch is on */
  attempt: number;
  maxAttempts: number;
  /** targets in flight inside the batch */
  concurrency: number;
  /** at most this many targets per page read from the database */
  pageSize: number;
}

/** What a batch did, in counts: dead targets are stored (forge_jobs.dead_targets), only a sample comes back. */
export interface BatchResult {
  completed: number;
  dead: number;
  samples: DeadTarget[];
  /** failed transiently with attempts left: the next round runs them */
  retry: TargetId[];
  /** the longest backoff (or Retry-After) a failed target asked for */
  retryAfterMs: number;
}

export interface BoundsInput {
  jobRef: JobRef;
  targetEntity: string;
  range: TargetRange;
  every: number;
}

export interface PartTotals {
  completed: number;
  dead: number;
  /** failed attempts that were retried */
  retried: number;
}

export interface PartInput {
  jobRef: JobRef;
  job: string;
  part: number;
  targetEntity: string;
  policy: JobPolicy;
  range: TargetRange;
  /** where a part that continued as new stands */
  carry?: PartCarry;
}

export interface PartCarry {
  attempt: number;
  /** batches of this round not run yet */
  units: BatchUnit[];
  /** targets the next round retries */
  pending: TargetId[];
  delayMs: number;
  totals: PartTotals;
  samples: DeadTarget[];
}

export interface PartResult extends PartTotals {
  samples: DeadTarget[];
}

/** A part's counts so far, signalled to the job before each retry round: a bounded number of messages. */
export interface PartProgress extends PartTotals {
  part: number;
  /** targets waiting for their next attempt */
  retrying: number;
}

/** A dead job's failure details (details[0]); the dead-letter list and redrive read them. */
export interface DeadDetails {
  state: 'dead';
  targets: number;
  completed: number;
  /** every dead target (a job of one workflow), or a sample (a paged job: see deadCount, deadRun) */
  dead: DeadTarget[];
  /** dead targets in all, when `dead` is a sample */
  deadCount?: number;
  /** the run under which forge_jobs.dead_targets holds every dead target: a redrive pages them from there */
  deadRun?: string;
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

/** Dead-target reasons a batch, a part and a job keep as examples; forge_jobs.dead_targets has them all. */
export const DEAD_SAMPLES = 20;

/** Failure types the effect activity throws; the workflow and the dead-letter list read them. */
export const FAILURE_TYPES = {
  sandbox: 'SandboxViolation',
  permanent: 'PermanentError',
  transient: 'TransientError',
  exhausted: 'RetriesExhausted',
  needs: 'NeedsResolution',
  dead: 'JobDead',
} as const;
