/**
 * `forge-jobs jobs dead | retry | stats | show <workflowId>`: the inspection verbs of the client
 * (src/client/inspect.ts) on the command line, as readable tables or `--json`.
 */
import { Client, Connection } from '@temporalio/client';
import type { Command } from 'commander';
import { Pool } from 'pg';
import {
  dataConverterFromEnv,
  createJobInspector,
  type DeadJob,
  type JobDetails,
  type JobInspector,
  type JobStats,
  type RetriedJob,
} from '../index';
import { connectionOptions, parseSince, rateLanes } from '../admin';
import { loadConfig, positiveInt, resolveTemporal, UsageError } from './config';
import { print, printJson } from './format';
import {
  configOptions,
  databaseOption,
  ENV,
  jsonOption,
  temporalOptions,
  type ConfigFlags,
  type DatabaseFlags,
  type JsonFlags,
  type TemporalFlags,
} from './options';
import { ago, renderFields, renderTable } from './table';

type CommonFlags = ConfigFlags & TemporalFlags & JsonFlags & { taskQueue?: string };
type DeadFlags = CommonFlags & { job?: string; entity?: string; since?: string; limit?: string };
type RetryFlags = CommonFlags & { job?: string; entity?: string; since?: string; all?: boolean };
type StatsFlags = CommonFlags & DatabaseFlags;

const TASK_QUEUE_ENV = 'FORGE_TASK_QUEUE';

export function registerJobsCommands(cli: Command): void {
  const jobs = cli.command('jobs').description('inspect jobs on Temporal: dead letters, retry, stats, one job').showHelpAfterError(false);

  common(jobs.command('dead'))
    .description('list dead jobs (latest run dead), newest first: job, entity, record, reason, attempts, last error')
    .option('--job <name>', 'only this job')
    .option('--entity <name>', 'only jobs of this entity')
    .option('--since <time>', 'dead since an ISO time or a duration back from now (30m, 24h, 7d)')
    .option('--limit <n>', 'at most n jobs (default 100)')
    .action((flags: DeadFlags) => deadCommand(flags));

  common(jobs.command('retry'))
    .description('redrive dead jobs: a new run of each under the same workflow id, running only its dead targets')
    .argument('[workflowId]', 'one dead job')
    .option('--job <name>', 'every dead job of this job name')
    .option('--entity <name>', 'every dead job of this entity')
    .option('--since <time>', 'only jobs dead since (ISO time or 30m, 24h, 7d)')
    .option('--all', 'every dead job on the task queue')
    .action((workflowId: string | undefined, flags: RetryFlags) => retryCommand(workflowId, flags));

  databaseOption(common(jobs.command('stats')))
    .description(
      'counts from Temporal and the outbox: workers, queue depth, enqueued, completed, failed, retried, dead, sandbox violations',
    )
    .action((flags: StatsFlags) => statsCommand(flags));

  common(jobs.command('show'))
    .description('one job: state, reason, dead targets, and every run of its workflow id')
    .argument('<workflowId>', 'the job workflow id (as afterCommit returned it, or from `jobs dead`)')
    .action((workflowId: string, flags: CommonFlags) => showCommand(workflowId, flags));
}

function common(cmd: Command): Command {
  cmd.showHelpAfterError(false);
  configOptions(cmd);
  temporalOptions(cmd);
  cmd.option(
    '--task-queue <name>',
    `the task queue (env ${TASK_QUEUE_ENV}; else [jobs] task_queue; default forge-jobs; * for all, where listing)`,
  );
  return jsonOption(cmd);
}

export async function deadCommand(flags: DeadFlags): Promise<void> {
  const limit = flags.limit === undefined ? undefined : positiveInt(flags.limit, '--limit');
  checkSince(flags.since);
  await withInspector(flags, undefined, async (inspector, queue) => {
    const dead = await inspector.deadJobs({ job: flags.job, entity: flags.entity, since: flags.since, limit });
    if (flags.json) return printJson({ dead });
    print(renderDead(dead, queue));
  });
}

export async function retryCommand(workflowId: string | undefined, flags: RetryFlags): Promise<void> {
  const filtered = flags.job !== undefined || flags.entity !== undefined || flags.since !== undefined;
  if (workflowId && (filtered || flags.all)) throw new UsageError('give either a workflow id or --job/--entity/--since/--all, not both');
  if (!workflowId && !filtered && !flags.all)
    throw new UsageError('nothing to retry: give a workflow id, --job <name>, --entity <name>, --since <time> or --all');
  checkSince(flags.since);
  await withInspector(flags, undefined, async (inspector) => {
    const retried = await inspector.retry(workflowId ?? { job: flags.job, entity: flags.entity, since: flags.since });
    if (flags.json) return printJson({ retried });
    print(renderRetried(retried));
  });
}

export async function statsCommand(flags: StatsFlags): Promise<void> {
  const url = flags.database ?? (process.env[ENV.database] || undefined);
  await withInspector(flags, url, async (inspector) => {
    const stats = await inspector.stats();
    if (flags.json) return printJson(stats);
    print(renderStats(stats));
  });
}

export async function showCommand(workflowId: string, flags: CommonFlags): Promise<void> {
  await withInspector(flags, undefined, async (inspector) => {
    const job = await inspector.show(workflowId);
    if (flags.json) return printJson(job);
    print(renderShow(job));
  });
}

/** Connects to Temporal (and Postgres when a URL is given), runs fn, and closes both. */
async function withInspector(
  flags: CommonFlags,
  databaseUrl: string | undefined,
  fn: (inspector: JobInspector, taskQueue: string) => Promise<void>,
): Promise<void> {
  const config = loadConfig(flags);
  const temporal = resolveTemporal(flags, config);
  const taskQueue = flags.taskQueue ?? (process.env[TASK_QUEUE_ENV] || undefined) ?? config.jobs.taskQueue;
  if (!taskQueue.trim()) throw new UsageError('the task queue is empty');
  const url = databaseUrl ?? config.database.url;
  if (url !== undefined && !/^postgres(ql)?:\/\//i.test(url))
    throw new UsageError('the database must be a postgres:// or postgresql:// URL');
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions(temporal), connectTimeout: '5s' });
  } catch (err) {
    throw new Error(`cannot reach Temporal at ${temporal.address}: ${(err as Error).message}`);
  }
  const pool = url ? new Pool({ connectionString: url, max: 1, connectionTimeoutMillis: 5000 }) : undefined;
  pool?.on('error', () => undefined);
  try {
    const client = new Client({ connection, namespace: temporal.namespace, dataConverter: dataConverterFromEnv() });
    const inspector = createJobInspector({
      temporalClient: async () => client,
      namespace: temporal.namespace,
      taskQueue,
      database: pool,
      lanes: rateLanes(config, taskQueue),
    });
    await fn(inspector, taskQueue);
  } finally {
    await pool?.end();
    await connection.close();
  }
}

function checkSince(since: string | undefined): void {
  if (since === undefined) return;
  try {
    parseSince(since);
  } catch {
    throw new UsageError(
      `--since must be an ISO time (2026-05-01T12:00:00Z) or a duration such as 30m, 24h, 7d; got ${JSON.stringify(since)}`,
    );
  }
}

export function renderDead(dead: DeadJob[], taskQueue: string): string {
  if (dead.length === 0) return `no dead jobs on task queue ${taskQueue}`;
  const rows = renderTable(dead, [
    { header: 'DIED', value: (d) => ago(d.time) },
    { header: 'JOB', value: (d) => d.job, max: 32 },
    { header: 'ENTITY', value: (d) => d.entity, max: 20 },
    { header: 'OP', value: (d) => d.operation },
    { header: 'RECORD', value: (d) => d.recordId, max: 36 },
    { header: 'REASON', value: (d) => d.reason },
    { header: 'ATTEMPTS', value: (d) => String(d.attempts) },
    { header: 'DEAD/TARGETS', value: (d) => `${d.deadCount}/${d.targets}` },
    { header: 'LAST ERROR', value: (d) => d.lastError, max: 60 },
    { header: 'WORKFLOW ID', value: (d) => d.workflowId },
  ]);
  return `${rows}\n\n${dead.length} dead job${dead.length === 1 ? '' : 's'} · forge-jobs jobs show <workflow id> · forge-jobs jobs retry <workflow id>`;
}

export function renderRetried(retried: RetriedJob[]): string {
  if (retried.length === 0) return 'no dead jobs to retry';
  const rows = renderTable(retried, [
    { header: 'JOB', value: (r) => r.job, max: 32 },
    {
      header: 'RUNS',
      value: (r) => (r.onlyTargets ? `${r.onlyTargets.length} dead target${r.onlyTargets.length === 1 ? '' : 's'}` : 'all targets'),
    },
    { header: 'NEW RUN', value: (r) => r.runId },
    { header: 'WORKFLOW ID', value: (r) => r.workflowId },
  ]);
  return `${rows}\n\nretried ${retried.length} dead job${retried.length === 1 ? '' : 's'}; the dead runs stay in history`;
}

export function renderStats(s: JobStats): string {
  return renderFields([
    ['task queue', `${s.task_queue} (namespace ${s.namespace})`],
    ['worker_count', s.worker_count],
    ['queue_depth', s.queue_depth],
    ['total_enqueued', s.total_enqueued],
    ['total_completed', s.total_completed],
    ['total_failed', s.total_failed],
    ['total_retried', s.total_retried],
    ['total_dead', s.total_dead],
    ['sandbox_violations', s.sandbox_violations],
    ['outbox_pending', s.outbox_pending === null ? `n/a (no database: --database or ${ENV.database})` : s.outbox_pending],
    ['outbox_unmatched', s.outbox_unmatched ?? 'n/a'],
    ['outbox_dead', s.outbox_dead ?? 'n/a'],
    ...s.rate_lanes.map((l): [string, string] => [
      `rate lane ${l.lane}`,
      `${l.backlog} waiting at ${l.rate} (${l.task_queue}, ${l.workers} workers)`,
    ]),
  ]);
}

export function renderShow(job: JobDetails): string {
  const parts = [
    renderFields([
      ['workflow id', job.workflowId],
      ['job', job.job],
      ['event', `${job.entity} ${job.operation} ${job.recordId || '-'}`],
      ['state', `${job.state} (${job.status})`],
      ['task queue', job.taskQueue],
      ['started', job.startTime],
      ['closed', job.closeTime],
      [
        'targets',
        job.targets === undefined ? undefined : `${job.targets}${job.completed === undefined ? '' : `, ${job.completed} completed`}`,
      ],
      ['retries', job.retries],
      ['reason', job.reason],
      ['error', job.failure],
      ['only targets', job.onlyTargets?.join(', ')],
    ]),
  ];
  if (job.deadTargets && job.deadTargets.length > 0) {
    parts.push(
      'dead targets:\n' +
        renderTable(job.deadTargets, [
          { header: 'TARGET', value: (t) => String(t.target), max: 40 },
          { header: 'TYPE', value: (t) => t.type ?? '' },
          { header: 'ATTEMPTS', value: (t) => (t.attempts === undefined ? '' : String(t.attempts)) },
          { header: 'REASON', value: (t) => t.reason },
        ]),
    );
  }
  parts.push(
    `runs (${job.runs.length}):\n` +
      renderTable(job.runs, [
        { header: 'STARTED', value: (r) => r.startTime },
        { header: 'STATUS', value: (r) => r.status },
        { header: 'STATE', value: (r) => r.state ?? '' },
        { header: 'RUN ID', value: (r) => r.runId },
      ]),
  );
  return parts.join('\n\n');
}
