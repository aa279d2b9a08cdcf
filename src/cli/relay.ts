/**
 * `forge-jobs relay`: the outbox relay alone (when workers run with their relay off, or to scale it apart).
 * Starts the workflows of committed outbox rows until SIGINT or SIGTERM, then finishes the sweep in flight.
 */
import { createJobStarter, startRelay } from '../admin';
import { loadCliArtifact, loadConfig, openPool, redactUrl, resolveDatabaseUrl, resolveTemporal, withTemporal } from './config';
import { progress } from './format';
import type { ArtifactFlags, ConfigFlags, DatabaseFlags, TemporalFlags } from './options';

export type RelayFlags = ArtifactFlags & ConfigFlags & DatabaseFlags & TemporalFlags & { pollInterval?: string; taskQueue?: string };

export async function relayCommand(flags: RelayFlags): Promise<void> {
  const loaded = loadConfig(flags);
  const temporal = resolveTemporal(flags, loaded);
  const config = withTemporal(loaded, temporal);
  const artifact = loadCliArtifact(flags, config);
  const url = resolveDatabaseUrl(flags, config);
  const pollIntervalMs = flags.pollInterval === undefined ? undefined : Number(flags.pollInterval);
  if (pollIntervalMs !== undefined && !(Number.isInteger(pollIntervalMs) && pollIntervalMs > 0)) {
    throw new Error(`--poll-interval must be a positive number of milliseconds, got ${JSON.stringify(flags.pollInterval)}`);
  }

  const pool = await openPool(url, 5);
  const client = createJobStarter({ artifact, config, taskQueue: flags.taskQueue });
  try {
    // Registered before the (possibly slow) start, so a signal during start-up still stops cleanly.
    let signalled: () => void = () => undefined;
    const stopRequested = new Promise<string>((resolve) => {
      const on = (signal: string) => () => resolve(signal);
      const int = on('SIGINT');
      const term = on('SIGTERM');
      process.once('SIGINT', int);
      process.once('SIGTERM', term);
      signalled = () => {
        process.off('SIGINT', int);
        process.off('SIGTERM', term);
      };
    });
    progress(
      `starting the outbox relay: ${redactUrl(url)} → Temporal ${temporal.address} (namespace ${temporal.namespace}, task queue ${client.taskQueue})`,
    );
    const relay = await startRelay({ pool, client, pollIntervalMs });
    progress('relay running; Ctrl-C to stop');
    const signal = await stopRequested;
    signalled();
    progress(`${signal}: stopping the relay…`);
    await relay.stop();
    progress('relay stopped');
  } finally {
    await client.close();
    await pool.end();
  }
}
