/**
 * Reading a job run's history: its input (the first event) and how it closed (failure, dead targets,
 * result), decoded through the client's data converter; and the Forge search attributes of a run.
 */
import type { Client } from '@temporalio/client';
import { ApplicationFailure, type TypedSearchAttributes } from '@temporalio/common';
import { decodeFromPayloadsAtIndex, decodeOptionalFailureToOptionalError } from '@temporalio/common/lib/internal-non-workflow';
import type { temporal } from '@temporalio/proto';
import { SA } from '../names';
import type { DeadDetails, JobInput } from '../workflows/types';

type History = temporal.api.history.v1.IHistory;

export interface RunRecord {
  input?: JobInput;
  failure?: string;
  failureType?: string;
  details?: DeadDetails;
  result?: { targets?: number; completed?: number };
  /** attempts of the target that took the most; from the dead list, else the history's activity attempts */
  attempts: number;
}

/** What a run's history says: its input (first event), and how it closed. */
export async function readRun(client: Client, namespace: string, workflowId: string, runId: string): Promise<RunRecord> {
  const history: History = await client.workflow.getHandle(workflowId, runId).fetchHistory();
  const converter = client.options.loadedDataConverter;
  const context = { type: 'workflow' as const, namespace, workflowId };
  const events = history.events ?? [];
  const record: RunRecord = { attempts: 1 };
  const started = events[0]?.workflowExecutionStartedEventAttributes;
  if (started) record.input = await decodeFromPayloadsAtIndex<JobInput>(converter, 0, started.input?.payloads, context);
  let activityAttempts = 0;
  for (const event of events) {
    const attempt = event.activityTaskStartedEventAttributes?.attempt;
    if (attempt && attempt > activityAttempts) activityAttempts = attempt;
  }
  const last = events[events.length - 1];
  const failed = last?.workflowExecutionFailedEventAttributes;
  if (failed?.failure) {
    const error = await decodeOptionalFailureToOptionalError(converter, failed.failure, context);
    record.failure = error?.message;
    if (error instanceof ApplicationFailure) {
      record.failureType = error.type ?? undefined;
      const details = error.details?.[0] as DeadDetails | undefined;
      if (details && typeof details === 'object' && Array.isArray(details.dead)) record.details = details;
    }
  }
  const completed = last?.workflowExecutionCompletedEventAttributes;
  if (completed) record.result = await decodeFromPayloadsAtIndex(converter, 0, completed.result?.payloads, context);
  const deadAttempts = Math.max(0, ...(record.details?.dead ?? []).map((d) => d.attempts ?? 0));
  record.attempts = Math.max(1, deadAttempts || activityAttempts);
  return record;
}

export function jobAttributes(info: { typedSearchAttributes: TypedSearchAttributes }) {
  const get = (key: (typeof SA)[keyof typeof SA]) => String(info.typedSearchAttributes.get(key) ?? '');
  return { job: get(SA.job), entity: get(SA.entity), operation: get(SA.operation), recordId: get(SA.recordId) };
}
