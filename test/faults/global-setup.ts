/** Checks the CLI is built (the workers run `node bin/forge-jobs.js`) and opens the run's result file. */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default async function globalSetup(): Promise<void> {
  const cli = join(__dirname, '..', '..', 'dist', 'cli', 'index.js');
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first (npm run test:faults does)`);
  const file = join(mkdtempSync(join(tmpdir(), 'forge-jobs-faults-')), 'results.jsonl');
  writeFileSync(file, '');
  process.env.FORGE_FAULTS_RESULTS = file;
  (globalThis as Record<string, unknown>).__faultsStarted = Date.now();
}
