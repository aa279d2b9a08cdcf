/**
 * The bare baseline worker in a process of its own: `node -r bench/register.js bench/worker-child.ts <json>`.
 * (The forge-jobs worker is bench/forge-worker.js, from dist/.) Prints "ready" once polling; SIGTERM stops it.
 */
import { NativeConnection, Runtime, DefaultLogger, Worker } from '@temporalio/worker';
import { Pool } from 'pg';
import { createBaselineActivities } from './baseline/activities';

interface ChildOptions {
  bundlePath: string;
  tuning?: Record<string, number>;
  temporal: string;
  databaseUrl: string;
  smtpPort: number;
  taskQueue: string;
}

async function main(): Promise<void> {
  const options = JSON.parse(process.argv[2]) as ChildOptions;
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
