/**
 * The forge-jobs worker for the bench, in a process of its own and from dist/ (as `forge-jobs worker` runs
 * it after `npm run build`), so its RSS is the worker's and not a TypeScript loader's. Unlike the CLI it takes
 * the prebuilt workflow bundle (production's way) and worker tuning. Prints "ready" once polling.
 *
 *   node bench/forge-worker.js '<json: { config, artifact, bundlePath, tuning? }>'
 */
const { createJobWorker, resolveRuntimeConfig } = require('../dist');

const options = JSON.parse(process.argv[2]);
const config = resolveRuntimeConfig(options.config, { environment: 'bench', env: {} });
const quiet = {
  debug() {},
  info() {},
  warn() {},
  error: (event, fields) => process.stderr.write(`${event} ${JSON.stringify(fields || {})}\n`),
};
const worker = createJobWorker({
  artifact: options.artifact,
  config,
  logger: quiet,
  workflowBundle: { codePath: options.bundlePath },
  ...(options.tuning && { tuning: options.tuning }),
});
process.once('SIGTERM', () => worker.shutdown());
const running = worker.run();
Promise.race([worker.ready, running]).then(() => process.stdout.write('ready\n'));
running.then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`forge-worker: ${(err && err.stack) || err}\n`);
    process.exit(1);
  },
);
