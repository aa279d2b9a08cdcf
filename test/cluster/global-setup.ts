/**
 * Builds (once, then cached in ~/.cache/forge-jobs) Temporal's server and sql tool before the cluster test
 * starts, so the build's minutes count against no test timeout and print their progress.
 */
import { findTemporalServer } from '../support/temporal-server';

export default async function globalSetup(): Promise<void> {
  const found = await findTemporalServer({ log: (line) => process.stderr.write(`[setup] ${line}\n`) });
  process.stderr.write(`[setup] Temporal server ${found.server}\n`);
}
