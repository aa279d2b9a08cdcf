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
    // A job of more than 50 targets runs them in batches of 200 per activity (runBatch), `concurrency` of a
    // batch's sends at a time: a fan-out of one activity per target is bound by Temporal's per-activity cost,
    // not by the sends, and a round of a provider's failures costs the server a task per 200 targets. A small
    // job keeps one activity per target: its latency and history stay as they were. Parts of 5,000 targets
    // keep a 1,000,000-target job's own history near 1,500 events and each part's small.
    batchSize: 200,
    batchThreshold: 50,
    partSize: 5000,
    ...overrides,
  };
}

/**
 * The policy of one job: a rate-limited job runs on its lane, `perTask` targets per activity at most (the
 * server counts tasks: src/rate/lanes.ts). A small job keeps one target per activity.
 */
export function policyOfJob(
  policy: JobPolicy,
  config: RuntimeConfig,
  taskQueue: string,
  job: { name: string; capabilities: readonly string[] },
): JobPolicy {
  const lane = laneOfJob(config, taskQueue, job);
  if (!lane) return policy;
  // Two seconds of the rate in flight, so the server sets the pace and not the round trip of each send
  // (bounded: a workflow may have at most 2,000 activities pending).
  const concurrency = Math.min(1000, Math.max(policy.concurrency, Math.ceil(2 * lane.rate.perSecond)));
  return { ...policy, batchSize: lane.perTask, concurrency, lane: { taskQueue: lane.taskQueue, waitMs: laneWaitMs(lane.rate) } };
}
