/**
 * One Temporal dev server, one Postgres and one workflow bundle for the whole integration run.
 * Test files reach them through the environment (test/support/stack.ts reads it).
 */
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bundleWorkflowCode } from '@temporalio/worker';
import { resolveDatabase } from '../../src/dev/embedded-postgres';
import { findTemporalCli } from '../../src/dev/temporal-cli';
import { startTemporalDevServer } from '../../src/dev/temporal-dev-server';

export default async function globalSetup(): Promise<void> {
  const log = (line: string) => process.stderr.write(`[setup] ${line}\n`);
  // The servers' own output is noise in a test report; their start-up failures still throw with it.
  const ours = (line: string) => (/^\[(postgres|temporal)\]/.test(line) ? undefined : log(line));
  const cliPath = await findTemporalCli({ log, allowBuild: true });
  const [temporal, db, bundle] = await Promise.all([
    startTemporalDevServer({ cliPath, log: ours }),
    // A data dir of its own, so a running `forge-jobs dev` and a test run never share one.
    resolveDatabase({ url: process.env.DATABASE_URL, log: ours, dataDir: testDataDir() }),
    bundleWorkflowCode({ workflowsPath: require.resolve('../../src/workflows'), logger: quiet }),
  ]);
  const dir = join(__dirname, '..', '..', '.forge-jobs');
  mkdirSync(dir, { recursive: true });
  const codePath = join(dir, 'test-workflow-bundle.js');
  writeFileSync(codePath, bundle.code);

  process.env.FORGE_TEST_TEMPORAL_ADDRESS = temporal.address;
  process.env.FORGE_TEST_TEMPORAL_UI = temporal.uiUrl;
  process.env.FORGE_TEST_TEMPORAL_CLI = cliPath;
  process.env.FORGE_TEST_PG_URL = db.url;
  process.env.FORGE_TEST_WORKFLOW_BUNDLE = codePath;
  (globalThis as Record<string, unknown>).__forgeStack = { temporal, db };
  log(`Temporal ${temporal.address}, Postgres ${db.url.replace(/:[^:@/]*@/, ':***@')}`);
}

function testDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'forge-jobs-test-pg-'));
  chmodSync(dir, 0o755); // the postgres user must reach it when we run as root
  return join(dir, 'data');
}

const noop = () => undefined;
const quiet = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: (m: string) => process.stderr.write(m + '\n') };
