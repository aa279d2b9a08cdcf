import type { RuntimeConfig } from '../config/types';
import type { JobPolicy } from '../workflows/types';

/** The retry and fan-out bounds a job workflow runs with, from [jobs]; carried in its input so replays agree. */
export function jobPolicy(config: RuntimeConfig, overrides: Partial<JobPolicy> = {}): JobPolicy {
  return {
    maxAttempts: config.jobs.maxAttempts,
    timeoutMs: config.jobs.timeoutMs,
    concurrency: Math.max(1, config.jobs.concurrency),
    chunkSize: 500,
    childConcurrency: 4,
    ...overrides,
  };
}
