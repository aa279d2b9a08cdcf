/**
 * Where a paged job's targets come from, as one scope (src/sql/pages.ts) the resolve, bounds and batch
 * activities share: the job's needs (the hops before the last run once per worker and run, the last a
 * condition on the target table), or for a redrive of a paged job the dead targets its earlier run stored.
 */
import type { Pool } from 'pg';
import type { Artifact } from '../artifact/types';
import { PermanentError } from '../errors';
import { isPermanentSqlError, targetScope } from '../needs';
import { quoteIdent } from '../sql/identifiers';
import { deadTargetsScope, type TargetScope } from '../sql/pages';
import type { JobInput, JobRef, Row } from '../workflows/types';
import type { JobInputs } from './records';

export interface SourceDeps {
  pool: Pool;
  artifact: Artifact;
  jobs: JobInputs;
}

export interface TargetSource {
  input: JobInput;
  targetEntity: string;
  /** the target entity's table */
  table: string;
  /** undefined: a path ends at the trigger record; such a job is resolved in memory (src/needs) */
  scope?: TargetScope;
  /** the scope gives ids only (the dead-target table): rows are read by id from `table` */
  idsOnly: boolean;
}

export function targetSource(deps: SourceDeps, ref: JobRef): Promise<TargetSource> {
  return deps.jobs.derived(ref, 'source', async (input) => {
    const job = deps.artifact.jobs[input.job];
    if (!job) throw new PermanentError(`job ${input.job} is not in this worker's artifact`);
    const query = async (text: string, values: unknown[]) => (await deps.pool.query(text, values)).rows as Row[];
    if (input.redriveOf) {
      const targetEntity = job.needs[0]?.targetEntity ?? job.input_entity;
      return {
        input,
        targetEntity,
        table: tableOf(deps, targetEntity),
        scope: deadTargetsScope(ref.workflowId, input.redriveOf),
        idsOnly: true,
      };
    }
    const { targetEntity, scope } = await targetScope({ query, artifact: deps.artifact, job, record: input.record });
    const table = tableOf(deps, targetEntity);
    if (!scope || !input.onlyTargets) return { input, targetEntity, table, scope, idsOnly: false };
    // A redrive of a job whose dead targets were listed: its needs, narrowed to them.
    const values = [...scope.values, input.onlyTargets];
    return {
      input,
      targetEntity,
      table,
      scope: { ...scope, where: `(${scope.where}) AND t.${quoteIdent('id')} = ANY($${values.length})`, values },
      idsOnly: false,
    };
  });
}

/** Runs a statement of the paged path; a wrong table, column or type is permanent, like a hop's. */
export async function queryTargets(deps: SourceDeps, job: string, text: string, values: unknown[]): Promise<Row[]> {
  try {
    return (await deps.pool.query(text, values)).rows as Row[];
  } catch (err) {
    if (isPermanentSqlError(err)) throw new PermanentError(`needs of job ${job}: ${(err as Error).message}`, 'needs_sql');
    throw err;
  }
}

function tableOf(deps: SourceDeps, entity: string): string {
  const def = deps.artifact.entities[entity];
  if (!def) throw new PermanentError(`entity ${entity} is not in this worker's artifact`);
  return def.table;
}
