/**
 * Dynamic config the pipeline's latency depends on. Every server forge-jobs starts has it: the dev server
 * (as flags), the cluster profile (test/support/temporal-cluster.ts) and the compose stack
 * (deploy/temporal/dynamicconfig/forge.yaml, checked against this by test/unit/deploy). A production cluster
 * should set it too.
 */
export const SERVER_TUNING = {
  // A worker that schedules an activity it can run gets it back in the same response instead of through
  // matching: about 40 ms less per activity here (bench/).
  'system.enableActivityEagerExecution': true,
  // Every workflow task (start, each activity's result) leaves history through the transfer queue, whose reader
  // may poll 20 times a second per shard by default. One busy shard (the dev server has one) spends that at
  // once, and each workflow task then waits ~38 ms for the next poll: 3 of them were most of commit → SMTP.
  // At 500/s the wait is ≤ 2 ms; the reader still polls only when history says there is a task.
  'history.transferProcessorMaxPollRPS': 500,
  // A task queue's rate limit (src/rate/lanes.ts) is split evenly over its partitions, and each partition may
  // still burst one task: with the default four, a lane of 1 task/s could hand out four at once. One partition
  // makes the server's limit the configured one. On a shared cluster, set it for the lanes' queues alone (a
  // taskQueueName constraint per lane) instead.
  'matching.numTaskqueueReadPartitions': 1,
  'matching.numTaskqueueWritePartitions': 1,
} as const;

/** `--dynamic-config-value key=value` pairs for `temporal server start-dev`. */
export function serverTuningFlags(): string[] {
  return Object.entries(SERVER_TUNING).flatMap(([key, value]) => ['--dynamic-config-value', `${key}=${JSON.stringify(value)}`]);
}

/** The same as dynamic config file YAML (no constraints: the whole cluster). */
export function serverTuningYaml(): string {
  return Object.entries(SERVER_TUNING)
    .map(([key, value]) => `${key}:\n  - value: ${JSON.stringify(value)}\n    constraints: {}\n`)
    .join('');
}
