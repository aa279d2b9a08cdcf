/**
 * jobWorkflow: one run per (event, job). Resolves the job's targets, runs each target's effect (an activity per
 * target, or per batch of targets for a large job: ./targets.ts), and keeps its lifecycle
 * (pending → running → completed | failed | dead) readable by query and search attribute.
 */
import { ApplicationFailure, patched, setHandler, startChild, workflowInfo } from '@temporalio/workflow';
import { jobActivities, reportJob } from './activities';
import { attemptFailedSignal, countRetry, newStatus, setFailure, setState, stateQuery, statusQuery } from './state';
import { jobTargetsWorkflow, runTargets } from './targets';
import { FAILURE_TYPES, type JobInput, type JobReport, type JobResult, type TargetId, type TargetsResult } from './types';

/** Dead-target reasons kept in the result; beyond this the count tells the rest. */
const MAX_DEAD_LISTED = 1000;

export async function jobWorkflow(input: JobInput): Promise<JobResult> {
  const { resolveTargets } = jobActivities(input.policy);
  const status = newStatus();
  const workflowId = workflowInfo().workflowId;
  const startedAt = Date.now();
  const report = { workflowId, job: input.job, startedAt };
  setHandler(stateQuery, () => status.state);
  setHandler(statusQuery, () => status);
  // Failed attempts per target, from the effect activity's signals: a dead target's attempts are these + 1.
  const retried = new Map<string, number>();
  setHandler(attemptFailedSignal, (failure) => {
    countRetry(status, retried, failure);
    if (status.state === 'running') setState(status, 'failed');
  });

  setState(status, 'running');
  let targetEntity: string;
  let targetIds: TargetId[];
  try {
    ({ targetEntity, targetIds } = await resolveTargets({ job: input.job, entity: input.entity, record: input.record }));
  } catch (err) {
    return die(status, report, `needs resolution failed: ${reasonOf(err)}`, { completed: 0, dead: [] }, 0, FAILURE_TYPES.needs);
  }
  if (input.onlyTargets) {
    const only = new Set(input.onlyTargets.map(String));
    targetIds = targetIds.filter((id) => only.has(String(id)));
  }
  status.targets = targetIds.length;

  const base = { ...withoutRedrive(input), jobWorkflowId: workflowId, targetEntity, ...(input.onlyTargets && { redrive: true as const }) };
  const onDone = (o: { dead?: unknown }) => {
    if (o.dead) status.dead++;
    else status.completed++;
    if (status.state === 'failed') setState(status, 'running');
  };

  const batched = batching(input.policy, targetIds.length);
  let result: TargetsResult;
  if (targetIds.length <= input.policy.chunkSize) {
    result = await runTargets(base, targetIds, input.policy, onDone, batched);
  } else {
    result = await fanOut({ ...base, ...(batched && { batched: true as const }) }, targetIds, input, status);
  }
  for (const dead of result.dead) dead.attempts = (retried.get(String(dead.target)) ?? 0) + 1;
  status.deadTargets = result.dead.slice(0, MAX_DEAD_LISTED);

  if (result.dead.length > 0) {
    const first = result.dead[0];
    const reason =
      result.dead.length === 1
        ? first.reason
        : `${result.dead.length} of ${targetIds.length} targets dead; first: ${first.reason}`;
    const sandbox = result.dead.some((d) => d.type === FAILURE_TYPES.sandbox);
    return die(status, report, reason, result, targetIds.length, sandbox ? FAILURE_TYPES.sandbox : (first.type ?? FAILURE_TYPES.dead));
  }
  setState(status, 'completed');
  await reportJob({ ...report, state: 'completed', targets: targetIds.length, completed: result.completed, dead: 0 });
  return { state: 'completed', targets: targetIds.length, targetEntity, ...result };
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
  status: ReturnType<typeof newStatus>,
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
  status: ReturnType<typeof newStatus>,
  report: Pick<JobReport, 'workflowId' | 'job' | 'startedAt'>,
  reason: string,
  result: TargetsResult,
  targets: number,
  type: string,
): Promise<never> {
  status.lastError = reason;
  setFailure(type);
  setState(status, 'dead');
  const attempts = Math.max(1, ...result.dead.map((d) => d.attempts ?? 1));
  await reportJob({ ...report, state: 'dead', reason, attempts, targets, completed: result.completed, dead: result.dead.length });
  // Failing the run is what puts the reason on the Web UI's page and lets `retry` redrive it.
  throw ApplicationFailure.create({
    type,
    message: reason,
    nonRetryable: true,
    details: [{ state: 'dead', targets, completed: result.completed, dead: result.dead.slice(0, MAX_DEAD_LISTED) }],
  });
}

function reasonOf(err: unknown): string {
  const cause = (err as { cause?: unknown })?.cause ?? err;
  return cause instanceof Error ? cause.message : String(cause);
}

function withoutRedrive(input: JobInput) {
  const { onlyTargets: _only, policy: _policy, ...rest } = input;
  return rest;
}
