/**
 * `forge-jobs backfill <job>` runs a job once for every existing row of its input entity that matches
 * --where, resumably (src/backfill); `forge-jobs backfill status` lists the backfills. Progress goes to
 * stderr on a terminal (rows done / total, rate, ETA), or as JSON lines on stdout with --json.
 */
import type { Command } from 'commander';
import { dryRunBackfill, listBackfills, maxRecordBytes, planBackfill, runBackfill, type BackfillProgress } from '../admin';
import { loadCliArtifact, loadConfig, openPool, redactUrl, resolveDatabaseUrl, UsageError } from './config';
import { print, printJson, progress as progressLine, toJson } from './format';
import {
  artifactOption,
  configOptions,
  databaseOption,
  jsonOption,
  type ArtifactFlags,
  type ConfigFlags,
  type DatabaseFlags,
  type JsonFlags,
} from './options';
import { renderTable } from './table';

type BackfillFlags = ArtifactFlags &
  ConfigFlags &
  DatabaseFlags &
  JsonFlags & { where?: string; rate?: string; dryRun?: boolean; name?: string; operation?: string };

const OPERATIONS = ['create', 'update', 'delete'] as const;

export function registerBackfillCommand(cli: Command): void {
  const backfill = cli
    .command('backfill')
    .description(
      'run a job once for every existing row of its input entity (resumable: the same command continues after Ctrl-C); `backfill status` lists backfills',
    )
    .argument('<job>', 'a job name of the artifact, or "status"')
    .option('--where <filter>', 'only rows matching this filter, in the grammar of needs filters, e.g. \'status == "open"\'')
    .option('--rate <n>', 'at most n rows per second')
    .option('--dry-run', 'print how many rows match and the first ids; write nothing')
    .option('--name <name>', 'run a finished backfill of the same job and filter again, under this name')
    .option('--operation <op>', 'the operation the job sees: create, update or delete (default: that of the hook listing the job)');
  artifactOption(backfill);
  configOptions(backfill);
  databaseOption(backfill);
  jsonOption(backfill).action((job: string, flags: BackfillFlags) =>
    job === 'status' ? statusCommand(flags) : backfillCommand(job, flags),
  );
}

export async function backfillCommand(jobName: string, flags: BackfillFlags): Promise<void> {
  const config = loadConfig(flags);
  const artifact = loadCliArtifact(flags, config);
  const rate = flags.rate === undefined ? undefined : Number(flags.rate.replace(/\/s$/, ''));
  if (rate !== undefined && !(Number.isFinite(rate) && rate > 0))
    throw new UsageError(`--rate must be a positive number of rows per second, got ${JSON.stringify(flags.rate)}`);
  if (flags.operation !== undefined && !(OPERATIONS as readonly string[]).includes(flags.operation)) {
    throw new UsageError(`--operation must be one of ${OPERATIONS.join(', ')}, got ${JSON.stringify(flags.operation)}`);
  }
  const options = {
    job: jobName,
    where: flags.where,
    name: flags.name,
    operation: flags.operation as (typeof OPERATIONS)[number] | undefined,
  };
  const plan = planBackfill(artifact, options);
  const url = resolveDatabaseUrl(flags, config);
  const pool = await openPool(url, 2);
  try {
    if (flags.dryRun) {
      const dry = await dryRunBackfill(pool, plan);
      if (flags.json) return printJson({ ...dry, job: plan.job, entity: plan.entity.name, operation: plan.operation });
      print(
        `backfill ${dry.id}: ${dry.total} ${plan.entity.name} row${dry.total === 1 ? '' : 's'} would start ${plan.job} (operation ${plan.operation})`,
      );
      if (dry.firstIds.length > 0) print(`first ids: ${dry.firstIds.join(', ')}`);
      return;
    }
    progressLine(
      `backfill ${plan.id}: ${plan.job} over ${plan.entity.name}${plan.filterText ? ` where ${plan.filterText}` : ''} on ${redactUrl(url)}; Ctrl-C stops after the current page`,
    );
    const stop = new AbortController();
    const onSignal = () => {
      if (!flags.json) progressLine('\nstopping after the current page…');
      stop.abort();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const tty = !flags.json && process.stderr.isTTY === true;
    let last = 0;
    try {
      const result = await runBackfill({
        ...options,
        pool,
        artifact,
        rate,
        maxRecordBytes: maxRecordBytes(config),
        signal: stop.signal,
        onProgress: (p) => {
          if (flags.json) return process.stdout.write(toJson(p) + '\n');
          if (tty && (p.state !== 'running' || Date.now() - last > 200)) {
            last = Date.now();
            process.stderr.write(`\r${bar(p)}\x1b[K`);
          }
        },
      });
      if (tty) process.stderr.write('\n');
      if (flags.json) return;
      if (result.state === 'finished' && result.written === 0 && result.done > 0)
        print(`backfill ${result.id} is finished (${result.done} rows); --name <name> runs it again`);
      else if (result.state === 'finished') print(`backfill ${result.id} finished: ${result.done} rows, ${result.written} new events`);
      else print(`backfill ${result.id} stopped at ${result.done}/${result.total}; run the same command to resume`);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  } finally {
    await pool.end();
  }
}

/** `[=====>    ] 1200/5000 24%  350 rows/s  ETA 11s` */
export function bar(p: BackfillProgress, width = 30): string {
  const fraction = p.total > 0 ? Math.min(1, p.done / p.total) : 1;
  const filled = Math.round(fraction * width);
  const eta = p.etaSeconds === undefined ? '' : `  ETA ${formatSeconds(p.etaSeconds)}`;
  return `[${'='.repeat(filled)}${filled < width ? '>' : ''}${' '.repeat(Math.max(0, width - filled - 1))}] ${p.done}/${p.total} ${Math.round(fraction * 100)}%  ${p.rate} rows/s${p.state === 'running' ? eta : `  ${p.state}`}`;
}

function formatSeconds(s: number): string {
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export async function statusCommand(flags: BackfillFlags): Promise<void> {
  const url = resolveDatabaseUrl(flags, loadConfig(flags));
  const pool = await openPool(url, 2);
  try {
    const backfills = await listBackfills(pool);
    if (flags.json) return printJson({ backfills });
    print(
      renderTable(
        backfills,
        [
          { header: 'ID', value: (b) => b.id },
          { header: 'JOB', value: (b) => b.job },
          { header: 'STATE', value: (b) => b.state },
          { header: 'DONE', value: (b) => `${b.done}/${b.total}` },
          { header: 'WHERE', value: (b) => b.filter ?? '' },
          { header: 'UPDATED', value: (b) => b.updatedAt },
        ],
        'no backfills',
      ),
    );
  } finally {
    await pool.end();
  }
}
