/** The job's lifecycle as seen from outside: the `state` query and the ForgeJobState search attribute. */
import { defineQuery, defineSignal, upsertSearchAttributes } from '@temporalio/workflow';
import { QUERY, SA, SIGNAL, type JobState } from '../names';
import type { AttemptFailed, DeadTarget, PartProgress } from './types';

export interface JobStatus {
  state: JobState;
  targets: number;
  completed: number;
  dead: number;
  failedAttempts: number;
  lastError?: string;
  deadTargets: DeadTarget[];
}

export const stateQuery = defineQuery<JobState>(QUERY.state);
export const statusQuery = defineQuery<JobStatus>(QUERY.status);
/** Sent by the effect activity when an attempt fails and a retry is scheduled. */
export const attemptFailedSignal = defineSignal<[AttemptFailed]>(SIGNAL.attemptFailed);

/** Sent by a part of a paged fan-out before each retry round: its counts so far, a few messages per part. */
export const partProgressSignal = defineSignal<[PartProgress]>(SIGNAL.partProgress);

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

/** The retried attempts of a paged job, from its parts' counts; stats count jobs with ForgeRetries > 0. */
export function setRetries(status: JobStatus, retried: number): void {
  if (status.failedAttempts === retried) return;
  status.failedAttempts = retried;
  upsertSearchAttributes([{ key: SA.retries, value: retried }]);
}

export function setFailure(type: string): void {
  upsertSearchAttributes([{ key: SA.failure, value: type }]);
}

export function setState(status: JobStatus, state: JobState): void {
  if (status.state === state) return;
  status.state = state;
  upsertSearchAttributes([{ key: SA.state, value: state }]);
}
