/**
 * resolveTargets: the job's needs. A job run that passes its record by reference (jobRef) gets a paged
 * answer: up to `threshold` target ids, or the count and the bounds of parts of `partSize` targets, never
 * the whole id list. `[jobs] max_targets` is checked with a bounded count before any row is loaded.
 */
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Pool } from 'pg';
import type { Artifact } from '../artifact/types';
import { PermanentError } from '../errors';
import { DEFAULT_MAX_TARGETS, resolveNeeds } from '../needs';
import { boundsQuery, countTargetsQuery, pageQuery } from '../sql/pages';
import { FAILURE_TYPES, type ResolvedTargets, type ResolveInput, type Row, type TargetId } from '../workflows/types';
import { countJob } from './metrics';
import type { JobInputs } from './records';
import { triggerRecord } from './record';
import { queryTargets, targetSource } from './source';

/** The most parts one job splits into (a part continues as new however large it is). */
const MAX_PARTS = 200;

export function createResolveTargets(deps: { pool: Pool; artifact: Artifact; jobs: JobInputs; maxTargets?: number }) {
  return async function resolveTargets(input: ResolveInput): Promise<ResolvedTargets> {
    if (activityAttempt() === 1) countJob('started', { job: input.job });
    try {
      if (input.jobRef && input.paged) return await resolvePaged(input.jobRef, input.paged);
      const record = input.record ?? (input.jobRef ? (await deps.jobs.read(input.jobRef)).record : undefined);
      if (!record) throw new PermanentError(`resolveTargets of job ${input.job} got neither a record nor its job run`);
      return await resolveInMemory(input.job, record);
    } catch (err) {
      if (err instanceof PermanentError)
        throw ApplicationFailure.create({ type: FAILURE_TYPES.permanent, message: err.message, nonRetryable: true });
      throw err;
    }
  };

  async function resolveInMemory(
    jobName: string,
    record: Row,
    onlyTargets?: TargetId[],
  ): Promise<{ targetEntity: string; targetIds: TargetId[] }> {
    const job = deps.artifact.jobs[jobName];
    if (!job) throw new PermanentError(`job ${jobName} is not in this worker's artifact`);
    const query = async (text: string, values: unknown[]) => (await deps.pool.query(text, values)).rows as Row[];
    const { targetEntity, targets } = await resolveNeeds({
      query,
      artifact: deps.artifact,
      job,
      record: await triggerRecord(deps.pool, deps.artifact, job.input_entity, record),
      maxTargets: deps.maxTargets,
    });
    let targetIds = targets.map((t) => {
      if (t.id === undefined || t.id === null) throw new PermanentError(`a target of job ${jobName} (${targetEntity}) has no id`);
      return t.id as TargetId;
    });
    if (onlyTargets) {
      const only = new Set(onlyTargets.map(String));
      targetIds = targetIds.filter((id) => only.has(String(id)));
    }
    return { targetEntity, targetIds };
  }

  async function resolvePaged(
    jobRef: NonNullable<ResolveInput['jobRef']>,
    paged: NonNullable<ResolveInput['paged']>,
  ): Promise<ResolvedTargets> {
    const source = await targetSource(deps, jobRef);
    const { input, targetEntity, scope } = source;
    if (!scope) return resolveInMemory(input.job, input.record, input.onlyTargets);
    const max = deps.maxTargets ?? DEFAULT_MAX_TARGETS;
    // A redrive runs what an earlier run of the same job stored: never more than that run's limit allowed.
    const limit = input.redriveOf ? Number.MAX_SAFE_INTEGER : max + 1;
    const count = countTargetsQuery(scope, limit);
    const total = Number((await queryTargets(deps, input.job, count.text, count.values))[0]?.n ?? 0);
    if (!input.redriveOf && total > max) {
      throw new PermanentError(
        `needs_limit: needs of job ${input.job} reach more than ${max} targets ([jobs] max_targets = ${max}; counted ${total} before stopping)`,
        'needs_limit',
      );
    }
    if (total <= paged.threshold) {
      const ids = pageQuery(scope, undefined, paged.threshold, 'ids');
      return { targetEntity, targetIds: (await queryTargets(deps, input.job, ids.text, ids.values)).map((r) => r.id as TargetId) };
    }
    // Parts grow past partSize rather than outnumber MAX_PARTS: the job's own history stays a few events per part.
    const bounds = boundsQuery(scope, Math.max(paged.partSize, Math.ceil(total / MAX_PARTS)));
    const parts = (await queryTargets(deps, input.job, bounds.text, bounds.values)).map((r) => r.id as TargetId);
    return { targetEntity, total, parts };
  }
}

function activityAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1; // called outside an activity (tests)
  }
}
