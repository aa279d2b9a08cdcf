import { createJobWorker, loadArtifact, loadRuntimeConfig } from '../index';

export async function workerCommand(flags: { artifact: string; config: string; environment?: string }): Promise<void> {
  const config = loadRuntimeConfig(flags.config, { environment: flags.environment });
  const worker = createJobWorker({ artifact: loadArtifact(flags.artifact), config });
  const stop = () => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await worker.run();
}
