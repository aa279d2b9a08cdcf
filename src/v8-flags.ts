/**
 * The V8 flags of forge-jobs' processes. `--optimize-for-size` has V8 grow its heaps by less before it
 * collects them: a worker's heaps (the main one and the workflow thread's) otherwise grow by ~150 MiB during a
 * large fan-out that holds little live data. Measured in the bench's 100,000-target fan-out: worker peak RSS
 * 315 → 159 MiB, idle 156 → 131 MiB, the fan-out within the run-to-run spread of its time.
 *
 * Node does not take these flags from NODE_OPTIONS, so they go on the command line: the Dockerfile's
 * ENTRYPOINT, the bench's and the tests' worker processes (`node ${WORKER_V8_FLAGS} bin/forge-jobs.js worker`),
 * and the courier's fork.
 */
export const WORKER_V8_FLAGS: readonly string[] = ['--optimize-for-size'];

/**
 * The courier's objects are short-lived messages and sockets: a young generation of 1 MiB semi-spaces
 * instead of V8's 16, and the worker's flag. Measured with 1,000 sends in flight: peak RSS 107 → 75 MiB at
 * the same sends/s.
 */
export const COURIER_V8_FLAGS: readonly string[] = ['--max-semi-space-size=1', ...WORKER_V8_FLAGS];
