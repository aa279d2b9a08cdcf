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
    // A job of more than 50 targets runs them in batches of 50 per activity (runBatch): a fan-out of one
    // activity per target is bound by Temporal's per-activity cost, not by the sends. A small job keeps one
    // activity per target: its latency and history stay as they were. Parts of 5,000 targets keep a
    // 1,000,000-target job's own history near 1,500 events and each part's near 400.
    batchSize: 50,
    batchThreshold: 50,
    partSize: 5000,
    ...overrides,
  };
}
