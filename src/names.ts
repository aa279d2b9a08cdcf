/**
 * The names client, worker, workflows, CLI and tests share: task queue and server defaults, workflow types,
 * queries and signals, search attributes with their types, the capabilities, gRPC status codes.
 * Pure (no Node built-ins, no I/O): workflow code imports it too.
 */
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';

export const DEFAULT_TASK_QUEUE = 'forge-jobs';
export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';

/** The workflow types the worker registers (the exports of src/workflows): what replay must cover. */
export const WORKFLOW_TYPE = {
  /** one job run; its fan-out children carry the other types and no Forge search attributes */
  job: 'jobWorkflow',
  /** the targets of a batched fan-out */
  targets: 'jobTargetsWorkflow',
  /** one part of a paged fan-out */
  part: 'jobPartWorkflow',
} as const;
export const JOB_WORKFLOW_TYPE = WORKFLOW_TYPE.job;
export const WORKFLOW_TYPES = [WORKFLOW_TYPE.job, WORKFLOW_TYPE.targets, WORKFLOW_TYPE.part] as const;

/** The job workflow's queries: `state` (a JobState) and `status` (a JobStatus). */
export const QUERY = { state: 'state', status: 'status' } as const;
/** Signals to the job workflow: a failed attempt that will be retried, a paged part's counts. */
export const SIGNAL = { attemptFailed: 'attemptFailed', partProgress: 'partProgress' } as const;

/** temporal.api.enums.v1.TaskQueueType numbers, for describeTaskQueue. */
export const TASK_QUEUE_TYPE = { workflow: 1, activity: 2 } as const;

/** gRPC status codes the client, pruner, setup and launchers tell apart. */
export const GRPC_STATUS = {
  CANCELLED: 1,
  INVALID_ARGUMENT: 3,
  DEADLINE_EXCEEDED: 4,
  NOT_FOUND: 5,
  ALREADY_EXISTS: 6,
  RESOURCE_EXHAUSTED: 8,
  UNAVAILABLE: 14,
} as const;

export const CAPABILITIES = ['email.send', 'http.get', 'http.post', 'http.put', 'http.delete', 'http.call', 'entity.create'] as const;
export type Capability = (typeof CAPABILITIES)[number];

export type JobState = 'pending' | 'running' | 'completed' | 'failed' | 'dead';

/**
 * Custom search attributes and their types, registered on the dev server and by `forge-jobs setup`.
 * The five of the contract, plus ForgeFailure (why a job died) and ForgeRetries (failed attempts that were
 * retried), which let stats count from visibility instead of counters that reset.
 */
export const SEARCH_ATTRIBUTE_TYPES = {
  ForgeJob: 'Keyword',
  ForgeEntity: 'Keyword',
  ForgeOperation: 'Keyword',
  ForgeRecordId: 'Keyword',
  ForgeJobState: 'Keyword',
  ForgeFailure: 'Keyword',
  ForgeRetries: 'Int',
} as const;
export type SearchAttributeName = keyof typeof SEARCH_ATTRIBUTE_TYPES;
export const SEARCH_ATTRIBUTES = Object.keys(SEARCH_ATTRIBUTE_TYPES) as SearchAttributeName[];

/** temporal.api.enums.v1.IndexedValueType numbers of the types above. */
export const INDEXED_VALUE_TYPE = { Keyword: 2, Int: 3 } as const;

/** Typed keys of the search attributes, for workflows (upsert) and clients (start, read). */
export const SA = {
  job: defineSearchAttributeKey('ForgeJob', SearchAttributeType.KEYWORD),
  entity: defineSearchAttributeKey('ForgeEntity', SearchAttributeType.KEYWORD),
  operation: defineSearchAttributeKey('ForgeOperation', SearchAttributeType.KEYWORD),
  recordId: defineSearchAttributeKey('ForgeRecordId', SearchAttributeType.KEYWORD),
  state: defineSearchAttributeKey('ForgeJobState', SearchAttributeType.KEYWORD),
  failure: defineSearchAttributeKey('ForgeFailure', SearchAttributeType.KEYWORD),
  retries: defineSearchAttributeKey('ForgeRetries', SearchAttributeType.INT),
};

/** The attributes a job workflow starts with. Record ids and job names only: never PII. */
export function jobSearchAttributes(a: { job: string; entity: string; operation: string; recordId: string; state: JobState }) {
  return new TypedSearchAttributes([
    { key: SA.job, value: a.job },
    { key: SA.entity, value: a.entity },
    { key: SA.operation, value: a.operation },
    { key: SA.recordId, value: a.recordId },
    { key: SA.state, value: a.state },
  ]);
}
