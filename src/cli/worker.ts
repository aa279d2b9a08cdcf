/** `forge-jobs worker`: polls the task queue and runs the jobs until SIGINT/SIGTERM. */
import { createJobWorker } from '../index';
import { loadCliArtifact, loadConfig, resolveDatabaseUrl, resolveTemporal, withTemporal } from './config';
import type { ArtifactFlags, ConfigFlags, DatabaseFlags, TemporalFlags } from './options';

export type WorkerFlags = ArtifactFlags & ConfigFlags & DatabaseFlags & TemporalFlags & { taskQueue?: string; relay?: boolean };

export async function workerCommand(flags: WorkerFlags): Promise<void> {
  const loaded = loadConfig(flags);
  const config = withTemporal(loaded, resolveTemporal(flags, loaded));
  const worker = createJobWorker({
    artifact: loadCliArtifact(flags, config),
    config,
    database: resolveDatabaseUrl(flags, config),
    taskQueue: flags.taskQueue,
    relay: flags.relay !== false,
  });
  const stop = () => worker.shutdown();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  await worker.run();
}
