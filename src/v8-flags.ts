/**
 * The V8 flags of forge-jobs' processes.
 *
 * The worker: semi-spaces of 2 MiB instead of V8's 16, and an old generation that grows by 20 % before V8
 * collects it again. Its garbage is short-lived (payloads, pages of targets, messages to the courier), and each
 * of its two heaps (the main one and the workflow thread's) otherwise keeps a young generation of up to 48 MiB
 * and lets what survives pile up over a long fan-out. Measured in the bench's scale scenario: worker peak RSS
 * 316–336 → 177 MiB through the 1,000,000-target fan-out (279 MiB with the semi-spaces alone), its times
 * within their run-to-run spread. `--optimize-for-size` did as well for memory but cost the fan-outs 15–40 %.
 *
 * Node takes --heap-growing-percent on the command line only (not from NODE_OPTIONS): the Dockerfile's
 * ENTRYPOINT and the bench's and the tests' worker processes run `node ${WORKER_V8_FLAGS} bin/forge-jobs.js`.
 */
export const WORKER_V8_FLAGS: readonly string[] = ['--max-semi-space-size=2', '--heap-growing-percent=20'];

/**
 * The courier (forked by src/courier/courier.ts) holds even less: 1 MiB semi-spaces, and heaps that grow by
 * less before V8 collects them (--optimize-for-size). With 1,000 sends in flight its peak RSS went 107 → 75 MiB
 * at the same sends/s.
 */
export const COURIER_V8_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--optimize-for-size'];
