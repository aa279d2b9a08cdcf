import type { RuntimeConfig } from '../config/types';
import { laneOfJob, laneWaitMs } from '../rate/lanes';
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

/**
 * The policy of one job: a rate-limited job runs on its lane, `perTask` targets per activity at most (the
 * server counts tasks: src/rate/lanes.ts).
 */
export function policyOfJob(policy: JobPolicy, config: RuntimeConfig, taskQueue: string, job: { name: string; capabilities: readonly string[] }): JobPolicy {
  const lane = laneOfJob(config, taskQueue, job);
  if (!lane) return policy;
  const { batchSize: _size, batchThreshold: _threshold, ...rest } = policy;
  // Two seconds of the rate in flight, so the server sets the pace and not the round trip of each send
  // (bounded: a workflow may have at most 2,000 activities pending).
  const concurrency = Math.min(1000, Math.max(policy.concurrency, Math.ceil(2 * lane.rate.perSecond)));
  const batches = lane.perTask > 1 ? { batchSize: lane.perTask, batchThreshold: 1 } : {};
  return { ...rest, ...batches, concurrency, lane: { taskQueue: lane.taskQueue, waitMs: laneWaitMs(lane.rate) } };
}
