/** The job's lifecycle as seen from outside: the `state` query and the ForgeJobState search attribute. */
import { defineQuery, defineSignal, upsertSearchAttributes } from '@temporalio/workflow';
import { SA } from '../search-attributes';
import type { JobState } from '../shared';
import type { AttemptFailed, DeadTarget } from './types';

export interface JobStatus {
  state: JobState;
  targets: number;
  completed: number;
  dead: number;
  failedAttempts: number;
  lastError?: string;
  deadTargets: DeadTarget[];
}

export const stateQuery = defineQuery<JobState>('state');
export const statusQuery = defineQuery<JobStatus>('status');
/** Sent by the effect activity when an attempt fails and a retry is scheduled. */
export const attemptFailedSignal = defineSignal<[AttemptFailed]>('attemptFailed');

export function newStatus(): JobStatus {
  return { state: 'pending', targets: 0, completed: 0, dead: 0, failedAttempts: 0, deadTargets: [] };
}

/** Counts a failed attempt that will be retried; stats count jobs with ForgeRetries > 0. */
export function countRetry(status: JobStatus, attempts: Map<string, number>, failure: AttemptFailed): void {
  status.failedAttempts++;
  status.lastError = failure.error;
  attempts.set(String(failure.target), failure.attempt);
  upsertSearchAttributes([{ key: SA.retries, value: status.failedAttempts }]);
}

export function setFailure(type: string): void {
  upsertSearchAttributes([{ key: SA.failure, value: type }]);
}

export function setState(status: JobStatus, state: JobState): void {
  if (status.state === state) return;
  status.state = state;
  upsertSearchAttributes([{ key: SA.state, value: state }]);
}
