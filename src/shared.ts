/** Names shared by client, worker, workflows and tests: no literals elsewhere. */

export const DEFAULT_TASK_QUEUE = 'forge-jobs';
export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';
export const DEFAULT_NAMESPACE = 'default';

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

/** Custom search attributes (all Keyword), registered on the dev server and by `forge-jobs setup`. */
export const SEARCH_ATTRIBUTES = ['ForgeJob', 'ForgeEntity', 'ForgeOperation', 'ForgeRecordId', 'ForgeJobState'] as const;

export type JobState = 'pending' | 'running' | 'completed' | 'failed' | 'dead';
