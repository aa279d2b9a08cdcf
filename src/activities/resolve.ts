/** resolveTargets: the job's needs, one SQL query per hop; only target ids go back into history. */
import type { Pool } from 'pg';
import type { Artifact } from '../artifact/types';
import { PermanentError } from '../errors';
import { resolveNeeds } from '../needs';
import type { Row, TargetId } from '../workflows/types';
import { ApplicationFailure } from '@temporalio/activity';
import { FAILURE_TYPES } from '../workflows/types';
import { countJob } from './metrics';
import { triggerRecord } from './record';
import { Context } from '@temporalio/activity';

export function createResolveTargets(deps: { pool: Pool; artifact: Artifact; maxTargets?: number }) {
  return async function resolveTargets(input: { job: string; entity: string; record: Row }): Promise<{ targetEntity: string; targetIds: TargetId[] }> {
    if (activityAttempt() === 1) countJob('started', { job: input.job });
    try {
      const job = deps.artifact.jobs[input.job];
      if (!job) throw new PermanentError(`job ${input.job} is not in this worker's artifact`);
      const query = async (text: string, values: unknown[]) => (await deps.pool.query(text, values)).rows as Row[];
      const record = await triggerRecord(deps.pool, deps.artifact, input.entity, input.record);
      const { targetEntity, targets } = await resolveNeeds({ query, artifact: deps.artifact, job, record, maxTargets: deps.maxTargets });
      const targetIds = targets.map((t) => {
        if (t.id === undefined || t.id === null) throw new PermanentError(`a target of job ${input.job} (${targetEntity}) has no id`);
        return t.id as TargetId;
      });
      return { targetEntity, targetIds };
    } catch (err) {
      if (err instanceof PermanentError) throw ApplicationFailure.create({ type: FAILURE_TYPES.permanent, message: err.message, nonRetryable: true });
      throw err;
    }
  };
}

function activityAttempt(): number {
  try {
    return Context.current().info.attempt;
  } catch {
    return 1; // called outside an activity (tests)
  }
}
