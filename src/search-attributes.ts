/** Typed keys of the custom search attributes (src/shared.ts lists them). Shared by client, workflows and setup. */
import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import type { JobState } from './shared';

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
