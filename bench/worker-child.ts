/**
 * A worker in a process of its own, so its RSS is its own: `node -r bench/register.js bench/worker-child.ts <json>`.
 * kind "forge": createJobWorker as `forge-jobs worker` runs it (relay included), with a prebuilt workflow bundle.
 * kind "baseline": a bare Temporal worker for bench/baseline. Prints "ready" once polling; SIGTERM stops it.
 */
import { NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { Pool } from 'pg';
import { createJobWorker, resolveRuntimeConfig } from '../src';
import { createBaselineActivities } from './baseline/activities';

interface ChildOptions {
  kind: 'forge' | 'baseline';
  config: Record<string, unknown>;
  artifact: object;
  bundlePath: string;
  tuning?: Record<string, number>;
  temporal: string;
  databaseUrl: string;
  smtpPort: number;
  taskQueue: string;
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2]) as ChildOptions;
  if (options.kind === 'forge') {
    const config = resolveRuntimeConfig(options.config, { environment: 'bench', env: {} });
    const quiet = { debug() {}, info() {}, warn() {}, error: (e: string, f?: object) => process.stderr.write(`${e} ${JSON.stringify(f ?? {})}\n`) };
    const worker = createJobWorker({
      artifact: options.artifact,
      config,
      logger: quiet as never,
      workflowBundle: { codePath: options.bundlePath },
      ...(options.tuning && { tuning: options.tuning }),
    } as Parameters<typeof createJobWorker>[0]);
    process.once('SIGTERM', () => worker.shutdown());
    const running = worker.run();
    await Promise.race([worker.ready, running]);
    process.stdout.write('ready\n');
    await running;
    return;
  }
  Runtime.install({ logger: new DefaultLogger('WARN') });
  const pool = new Pool({ connectionString: options.databaseUrl, max: 20 });
  const activities = createBaselineActivities({ pool, smtpPort: options.smtpPort });
  const connection = await NativeConnection.connect({ address: options.temporal });
  const worker = await Worker.create({
    connection,
    taskQueue: options.taskQueue,
    workflowBundle: { codePath: options.bundlePath },
    activities,
    ...(options.tuning ?? {}),
  });
  process.once('SIGTERM', () => worker.shutdown());
  const running = worker.run();
  process.stdout.write('ready\n');
  await running;
  await activities.close();
  await pool.end();
  await connection.close();
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`worker-child: ${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
