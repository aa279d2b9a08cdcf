/** Names shared by client, worker, workflows and tests: no literals elsewhere. */

export const DEFAULT_TASK_QUEUE = 'forge-jobs';
export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';

/** One job run; its fan-out children carry other types and no Forge search attributes. */
export const JOB_WORKFLOW_TYPE = 'jobWorkflow';
/** Every workflow type the worker registers (the exports of src/workflows): what replay must cover. */
/** temporal.api.enums.v1.TaskQueueType numbers, for describeTaskQueue. */
export const TASK_QUEUE_TYPE = { workflow: 1, activity: 2 } as const;

export const WORKFLOW_TYPES = [JOB_WORKFLOW_TYPE, 'jobTargetsWorkflow', 'jobPartWorkflow'] as const;

export const CAPABILITIES = [
  'email.send',
  'http.get',
  'http.post',
  'http.put',
  'http.delete',
  'http.call',
  'entity.create',
] as const;
export type Capability = (typeof CAPABILITIES)[number];

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

export type JobState = 'pending' | 'running' | 'completed' | 'failed' | 'dead';
