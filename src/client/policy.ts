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
    // A job of more than 50 targets sends them 25 per activity (runEffects): on the 2-core bench machine a
    // 10,000-target fan-out took ~9 s instead of ~50 s with one activity per target. Batches of 10, 50 and 100
    // measured within noise of 25; 25 keeps what a batch that fails as a whole must redo alone small. A small
    // job keeps one activity per target: its latency and history stay as they were.
    batchSize: 25,
    batchThreshold: 50,
    ...overrides,
  };
}
