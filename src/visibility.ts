/**
 * Visibility query text, built from the shared names: the job runs of a task queue (stats, inspection,
 * pruning), the fan-out children (pruning), every forge-jobs workflow type (replay).
 */
import { JOB_WORKFLOW_TYPE, WORKFLOW_TYPE, WORKFLOW_TYPES, type JobState } from './names';

/** A string literal for a visibility query. */
export function quote(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Conditions joined with AND; empty and false ones left out. */
export function allOf(...conditions: Array<string | undefined | false>): string {
  return conditions.filter((c): c is string => typeof c === 'string' && c.length > 0).join(' AND ');
}

/** The job runs of one task queue (every queue when undefined), plus extra conditions. */
export function jobQuery(taskQueue: string | undefined, ...conditions: Array<string | undefined | false>): string {
  return allOf(`WorkflowType = ${quote(JOB_WORKFLOW_TYPE)}`, taskQueue ? `TaskQueue = ${quote(taskQueue)}` : undefined, ...conditions);
}

/** ForgeJobState = <state>. */
export function jobStateIs(state: JobState): string {
  return `ForgeJobState = ${quote(state)}`;
}

/** ExecutionStatus = <status> (Running, Completed, Failed, ContinuedAsNew, …). */
export function executionStatusIs(status: string): string {
  return `ExecutionStatus = ${quote(status)}`;
}

/** The fan-out children (batched targets, paged parts) of one task queue, plus extra conditions. */
export function childRunsQuery(taskQueue: string, ...conditions: Array<string | undefined | false>): string {
  return allOf(
    `(WorkflowType = ${quote(WORKFLOW_TYPE.targets)} OR WorkflowType = ${quote(WORKFLOW_TYPE.part)})`,
    `TaskQueue = ${quote(taskQueue)}`,
    ...conditions,
  );
}

/** Runs of every workflow type forge-jobs registers. */
export function anyWorkflowTypeQuery(): string {
  return `WorkflowType IN (${WORKFLOW_TYPES.map(quote).join(', ')})`;
}
