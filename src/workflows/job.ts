/**
 * jobWorkflow: one run per (event, job). Resolves the job's targets, runs each target's effect (an activity per
 * target for a small job, parts of batches for a large one: ./part.ts), and keeps its lifecycle
 * (pending → running → completed | failed | dead) readable by query and search attribute.
 */
import { ApplicationFailure, executeChild, patched, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import { jobActivities, reportJob } from './activities';
import { keepSamples } from './batches';
import { jobPartWorkflow } from './part';
import {
  attemptFailedSignal,
  countRetry,
  newStatus,
  partProgressSignal,
  setFailure,
  setRetries,
  setState,
  stateQuery,
  statusQuery,
  type JobStatus,
} from './state';
import { jobTargetsWorkflow, runTargets } from './targets';
import {
  FAILURE_TYPES,
  type DeadDetails,
  type DeadTarget,
  type JobInput,
  type JobRef,
  type JobReport,
  type JobResult,
  type PartProgress,
  type ResolvedTargets,
  type TargetId,
  type TargetRange,
  type TargetsResult,
} from './types';

/** Targets per part of a paged fan-out, and the most a job runs without parts, when its policy does not say. */
const DEFAULT_PART_SIZE = 5000;
const DEFAULT_THRESHOLD = 50;

/** Dead-target reasons kept in the result; beyond this the count tells the rest. */
const MAX_DEAD_LISTED = 1000;

export async function jobWorkflow(input: JobInput): Promise<JobResult> {
  const status = newStatus();
  const workflowId = workflowInfo().workflowId;
  const report = { workflowId, job: input.job, startedAt: Date.now() };
  setHandler(stateQuery, () => status.state);
  setHandler(statusQuery, () => status);
  // Failed attempts per target, from the effect activity's signals: a dead target's attempts are these + 1.
  const retried = new Map<string, number>();
  setHandler(attemptFailedSignal, (failure) => {
    countRetry(status, retried, failure);
    if (status.state === 'running') setState(status, 'failed');
  });
  const run: Run = { input, status, report, retried, workflowId };
  // Runs recorded before paging replay the path they took, the record in every input and targets as one list.
  if (patched('paged-fanout')) return pagedJob(run);
  return unpagedJob(run);
}

interface Run {
  input: JobInput;
  status: JobStatus;
  report: Pick<JobReport, 'workflowId' | 'job' | 'startedAt'>;
  retried: Map<string, number>;
  workflowId: string;
}

/**
 * The record travels by reference (the job run, whose first event holds it), and targets never as one list:
 * up to `batchThreshold` come back as ids and run one activity each, as small jobs always did (latency,
 * history); more come back as the bounds of parts, each a child workflow (./part.ts), `childConcurrency`
 * in flight.
 */
async function pagedJob(run: Run): Promise<JobResult> {
  const { input, status, report, workflowId } = run;
  const { resolveTargets } = jobActivities(input.policy);
  const jobRef: JobRef = { workflowId, runId: workflowInfo().runId };
  setState(status, 'running');
  let resolved: ResolvedTargets;
  try {
    resolved = await resolveTargets({
      job: input.job,
      entity: input.entity,
      jobRef,
      paged: { threshold: input.policy.batchThreshold ?? DEFAULT_THRESHOLD, partSize: input.policy.partSize ?? DEFAULT_PART_SIZE },
    });
  } catch (err) {
    return die(status, report, `needs resolution failed: ${reasonOf(err)}`, { targets: 0, completed: 0, dead: [] }, FAILURE_TYPES.needs);
  }
  const redrive = input.onlyTargets !== undefined || input.redriveOf !== undefined;
  if ('targetIds' in resolved) {
    const { targetEntity, targetIds } = resolved;
    status.targets = targetIds.length;
    const { eventId, job, entity, operation, capabilities } = input;
    const base = {
      eventId,
      job,
      entity,
      operation,
      capabilities,
      jobWorkflowId: workflowId,
      jobRunId: jobRef.runId,
      targetEntity,
      ...(redrive && { redrive: true as const }),
    };
    const result = await runTargets(base, targetIds, input.policy, onDone(status), false);
    return finish(run, result, targetIds.length, targetEntity);
  }
  return runParts(run, jobRef, resolved);
}

async function runParts(
  run: Run,
  jobRef: JobRef,
  resolved: { targetEntity: string; total: number; parts: TargetId[] },
): Promise<JobResult> {
  const { input, status, report, workflowId } = run;
  const { targetEntity, total, parts } = resolved;
  status.targets = total;
  // Counts of the parts still running (their last signal) and of those that ended (their results).
  const live = new Map<number, PartProgress>();
  const ended = new Set<number>();
  const done = { completed: 0, dead: 0, retried: 0 };
  const samples: DeadTarget[] = [];
  const recount = () => {
    let { completed, dead, retried } = done;
    let retrying = 0;
    for (const p of live.values()) {
      completed += p.completed;
      dead += p.dead;
      retried += p.retried;
      retrying += p.retrying;
    }
    status.completed = completed;
    status.dead = dead;
    setRetries(status, retried);
    if (retrying > 0 && status.state === 'running') setState(status, 'failed');
    else if (retrying === 0 && status.state === 'failed') setState(status, 'running');
  };
  setHandler(partProgressSignal, (progress) => {
    if (ended.has(progress.part)) return;
    live.set(progress.part, progress);
    recount();
  });

  let failure: string | undefined;
  let next = 0;
  const lane = async () => {
    while (next < parts.length && failure === undefined) {
      const part = next++;
      const range: TargetRange = part === 0 ? { through: parts[0] } : { after: parts[part - 1], through: parts[part] };
      try {
        const result = await executeChild(jobPartWorkflow, {
          workflowId: `${workflowId}/part-${part}`,
          args: [{ jobRef, job: input.job, part, targetEntity, policy: input.policy, range }],
        });
        done.completed += result.completed;
        done.dead += result.dead;
        done.retried += result.retried;
        keepSamples(samples, result.samples);
      } catch (err) {
        // A part that failed, timed out or was terminated leaves targets nobody will run: the job is dead,
        // and a redrive runs all of it again (the ledger knows what was sent).
        const ids = range.after === undefined ? `through ${range.through}` : `after ${range.after} through ${range.through}`;
        failure ??= `part ${part + 1} of ${parts.length} (${targetEntity} ids ${ids}) did not finish: ${reasonOf(err)}`;
      } finally {
        ended.add(part);
        live.delete(part);
        recount();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, input.policy.childConcurrency), parts.length) }, lane));

  status.deadTargets = samples;
  const counts = { targets: total, completed: status.completed, dead: samples, deadCount: status.dead };
  if (failure !== undefined) return die(status, report, failure, counts, FAILURE_TYPES.dead);
  if (status.dead > 0) {
    const first = samples[0];
    const reason = `${status.dead} of ${total} targets dead; first: ${first?.reason ?? 'unknown'}`;
    const type = samples.some((d) => d.type === FAILURE_TYPES.sandbox) ? FAILURE_TYPES.sandbox : (first?.type ?? FAILURE_TYPES.dead);
    return die(status, report, reason, { ...counts, deadRun: jobRef.runId }, type);
  }
  setState(status, 'completed');
  await reportJob({ ...report, state: 'completed', targets: total, completed: status.completed, dead: 0 });
  return { state: 'completed', targets: total, targetEntity, completed: status.completed, dead: [] };
}

function onDone(status: JobStatus) {
  return (o: { dead?: unknown }) => {
    if (o.dead) status.dead++;
    else status.completed++;
    if (status.state === 'failed') setState(status, 'running');
  };
}

/** The end of a job whose targets ran in this workflow or in chunk children: every dead target listed. */
async function finish(run: Run, result: TargetsResult, targets: number, targetEntity: string): Promise<JobResult> {
  const { status, report, retried } = run;
  for (const dead of result.dead) dead.attempts = (retried.get(String(dead.target)) ?? 0) + 1;
  status.deadTargets = result.dead.slice(0, MAX_DEAD_LISTED);
  if (result.dead.length > 0) {
    const first = result.dead[0];
    const reason = result.dead.length === 1 ? first.reason : `${result.dead.length} of ${targets} targets dead; first: ${first.reason}`;
    const sandbox = result.dead.some((d) => d.type === FAILURE_TYPES.sandbox);
    return die(
      status,
      report,
      reason,
      { targets, completed: result.completed, dead: result.dead },
      sandbox ? FAILURE_TYPES.sandbox : (first.type ?? FAILURE_TYPES.dead),
    );
  }
  setState(status, 'completed');
  await reportJob({ ...report, state: 'completed', targets, completed: result.completed, dead: 0 });
  return { state: 'completed', targets, targetEntity, ...result };
}

/** The path of runs recorded before paging: targets resolved to one id list, the record in every input. */
async function unpagedJob(run: Run): Promise<JobResult> {
  const { input, status, report, workflowId } = run;
  const { resolveTargets } = jobActivities(input.policy);
  setState(status, 'running');
  let targetEntity: string;
  let targetIds: TargetId[];
  try {
    ({ targetEntity, targetIds } = (await resolveTargets({ job: input.job, entity: input.entity, record: input.record })) as {
      targetEntity: string;
      targetIds: TargetId[];
    });
  } catch (err) {
    return die(status, report, `needs resolution failed: ${reasonOf(err)}`, { targets: 0, completed: 0, dead: [] }, FAILURE_TYPES.needs);
  }
  if (input.onlyTargets) {
    const only = new Set(input.onlyTargets.map(String));
    targetIds = targetIds.filter((id) => only.has(String(id)));
  }
  status.targets = targetIds.length;

  const base = { ...withoutRedrive(input), jobWorkflowId: workflowId, targetEntity, ...(input.onlyTargets && { redrive: true as const }) };
  const batched = batching(input.policy, targetIds.length);
  let result: TargetsResult;
  if (targetIds.length <= input.policy.chunkSize) {
    result = await runTargets(base, targetIds, input.policy, onDone(status), batched);
  } else {
    result = await fanOut({ ...base, ...(batched && { batched: true as const }) }, targetIds, input, status);
  }
  return finish(run, result, targetIds.length, targetEntity);
}

/**
 * Whether the targets run in batches (runEffects) rather than one activity each. Only a job with more than
 * `batchThreshold` targets asks the patch, so a small job's history (and its commit → send latency) is what it
 * was; a history from before batching replays without the marker and takes the old path; and an input from
 * before the knobs existed never batches.
 */
function batching(policy: JobInput['policy'], targets: number): boolean {
  const { batchSize, batchThreshold } = policy;
  if (batchSize === undefined || batchSize < 2 || batchThreshold === undefined || targets <= batchThreshold) return false;
  return patched('batched-effects');
}

/**
 * Large fan-outs go to child workflows of `chunkSize` targets each, a few at a time. Children rather than
 * continue-as-new: each child's history is bounded by its chunk, chunks run in parallel, and the parent's
 * history grows by a handful of events per chunk, so 10,000 targets stay far inside the 50,000-event and
 * 2,000-pending-activity limits of one execution. `base.batched` tells the children to batch: the decision
 * is taken here, behind the patch; a child has no patch of its own, its input says it.
 */
async function fanOut(
  base: Omit<Parameters<typeof jobTargetsWorkflow>[0], 'targetIds' | 'policy'>,
  targetIds: TargetId[],
  input: JobInput,
  status: JobStatus,
): Promise<TargetsResult> {
  const { chunkSize, childConcurrency } = input.policy;
  const chunks: TargetId[][] = [];
  for (let i = 0; i < targetIds.length; i += chunkSize) chunks.push(targetIds.slice(i, i + chunkSize));
  const result: TargetsResult = { completed: 0, dead: [] };
  let next = 0;
  const lane = async () => {
    while (next < chunks.length) {
      const index = next++;
      const child = await startChild(jobTargetsWorkflow, {
        workflowId: `${base.jobWorkflowId}/part-${index}`,
        args: [{ ...base, policy: input.policy, targetIds: chunks[index] }],
      });
      const part = await child.result();
      result.completed += part.completed;
      result.dead.push(...part.dead);
      status.completed += part.completed;
      status.dead += part.dead.length;
    }
  };
  await Promise.all(Array.from({ length: Math.min(childConcurrency, chunks.length) }, lane));
  return result;
}

async function die(
  status: JobStatus,
  report: Pick<JobReport, 'workflowId' | 'job' | 'startedAt'>,
  reason: string,
  counts: Omit<DeadDetails, 'state'>,
  type: string,
): Promise<never> {
  status.lastError = reason;
  setFailure(type);
  setState(status, 'dead');
  const attempts = Math.max(1, ...counts.dead.map((d) => d.attempts ?? 1));
  const dead = counts.deadCount ?? counts.dead.length;
  await reportJob({ ...report, state: 'dead', reason, attempts, targets: counts.targets, completed: counts.completed, dead });
  const details: DeadDetails = { state: 'dead', ...counts, dead: counts.dead.slice(0, MAX_DEAD_LISTED) };
  // Failing the run is what puts the reason on the Web UI's page and lets `retry` redrive it.
  throw ApplicationFailure.create({ type, message: reason, nonRetryable: true, details: [details] });
}

function reasonOf(err: unknown): string {
  const cause = (err as { cause?: unknown })?.cause ?? err;
  return cause instanceof Error ? cause.message : String(cause);
}

function withoutRedrive(input: JobInput) {
  const { onlyTargets: _only, policy: _policy, redriveOf: _redriveOf, ...rest } = input;
  return rest;
}
