/**
 * The forge-jobs command line: a client of the two entry points (../index, ../admin), split by command.
 * Flag definitions are in options.ts, their resolution (flag > env > forge.runtime.toml > default) in config.ts.
 *
 * Errors print one line `forge-jobs <command>: <reason>` and exit 1; an invalid artifact or runtime config
 * lists its problems under that line. FORGE_DEBUG=1 prints the stack too.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, CommanderError } from 'commander';
import { registerBackfillCommand } from './backfill';
import { registerCaptureCommands } from './capture';
import { registerCodecServerCommand } from './codec-server';
import { registerJobsCommands } from './jobs';
import { DEFAULT_RETENTION, artifactOption, configOptions, databaseOption, jsonOption, temporalOptions } from './options';

// Each command's module (and with it the library, Temporal's native worker, pg) loads only when that command
// runs, so --help and usage errors answer at once.
const devCommand = lazy(() => import('./dev'), 'devCommand');
const workerCommand = lazy(() => import('./worker'), 'workerCommand');
const migrateCommand = lazy(() => import('./migrate'), 'migrateCommand');
const relayCommand = lazy(() => import('./relay'), 'relayCommand');
const explainCommand = lazy(() => import('./explain'), 'explainCommand');
const outboxDeadCommand = lazy(() => import('./outbox'), 'outboxDeadCommand');
const outboxRetryCommand = lazy(() => import('./outbox'), 'outboxRetryCommand');
const replayCommand = lazy(() => import('./replay'), 'replayCommand');
const setupCommand = lazy(() => import('./setup'), 'setupCommand');

export function program(): Command {
  const cli = new Command('forge-jobs')
    .description('The post-commit job pipeline of Forge applications, on Temporal')
    .version(packageVersion(), '-V, --version')
    .showHelpAfterError(false);

  cli
    .command('dev')
    .description('run the whole stack locally: Temporal dev server + Web UI, Postgres, a mail sink, the worker and the example app')
    .option('--artifact <path>', 'artifact.json (default: examples/helpdesk)')
    .option('--config <path>', 'forge.runtime.toml')
    .option('--schema <path>', 'SQL run once on a fresh database')
    .option('--seed <path>', 'SQL run after the schema')
    .option('--port <port>', 'port of the app server (default 3000, or a free one)')
    .option('--no-capture', "do not install database capture (by default rows written with plain SQL start the hooks' jobs too)")
    .action(devCommand);

  const worker = cli
    .command('worker')
    .description('run a worker: polls the task queue and runs the jobs (and the outbox relay, unless --no-relay)');
  artifactOption(worker);
  configOptions(worker);
  temporalOptions(worker);
  databaseOption(worker);
  worker
    .option('--task-queue <name>', 'task queue (default [jobs] task_queue, else forge-jobs)')
    .option('--no-relay', 'do not run the outbox relay in this worker')
    .action(workerCommand);

  const migrate = cli
    .command('migrate')
    .description("create or update forge-jobs' own tables (schema forge_jobs) in the app's database; safe to run again");
  configOptions(migrate);
  databaseOption(migrate);
  jsonOption(migrate).action(migrateCommand);

  const relay = cli
    .command('relay')
    .description('run the outbox relay alone: start the workflows of committed outbox rows until SIGINT/SIGTERM');
  artifactOption(relay);
  configOptions(relay);
  databaseOption(relay);
  temporalOptions(relay);
  relay
    .option('--task-queue <name>', 'task queue of the started workflows (default [jobs] task_queue, else forge-jobs)')
    .option('--poll-interval <ms>', 'sweep the outbox this often even without a NOTIFY (default 1000)')
    .action(relayCommand);

  const outbox = cli
    .command('outbox')
    .description('outbox rows the relay parked dead after repeated refusals: list them, give them back to the relay');
  const dead = outbox.command('dead').description('list dead outbox rows, newest first: id, event, attempts, reason (never the record)');
  configOptions(dead);
  databaseOption(dead);
  dead.option('--limit <n>', 'at most this many rows (default 100)');
  jsonOption(dead).action(outboxDeadCommand);
  const retry = outbox
    .command('retry')
    .description('give dead outbox rows back to the relay, attempts reset')
    .argument('[id...]', 'outbox ids (from `forge-jobs outbox dead`)')
    .option('--all', 'every dead row');
  configOptions(retry);
  databaseOption(retry);
  jsonOption(retry).action(outboxRetryCommand);

  const explain = cli
    .command('explain')
    .description("show what a job's needs resolve for a record: the SQL of each hop with its parameters, and the targets; runs no effect")
    .argument('<job>', 'a job name of the artifact')
    .option('--record <json>', 'the committed row as JSON, or @file.json, e.g. \'{"id":"…","org_id":"…"}\'');
  artifactOption(explain);
  configOptions(explain);
  databaseOption(explain);
  explain.option('--columns <list>', 'target columns to show, comma-separated (default: id and a few telling ones)');
  jsonOption(explain).action(explainCommand);

  const replay = cli
    .command('replay')
    .description('replay workflow histories against the current workflow code; exit 1 on nondeterminism, naming the mismatch')
    .argument(
      '[history...]',
      'history files in Temporal\'s JSON format ({"events": […]}, as the Web UI or `temporal workflow show -o json` give)',
    )
    .option(
      '--workflow-id <id>',
      "the workflow id to replay as (default: from the history); without a file, fetch this workflow's history from the server",
    )
    .option('--run-id <id>', 'with --workflow-id and no file: a run other than the latest')
    .option(
      '--from-server',
      'replay the histories the server holds: every forge-jobs workflow type, all open runs and the latest closed ones',
    )
    .option(
      '--query <visibility query>',
      'with --from-server: the runs to replay instead (e.g. \'TaskQueue = "forge-jobs" AND StartTime > "2026-01-01T00:00:00Z"\')',
    )
    .option('--limit <n>', 'with --from-server: the most closed runs (or runs matching --query) to replay (default 1000)')
    .option('--parallel <k>', 'with --from-server: histories fetched and replayed at once (default 4)')
    .option('--workflows <module>', 'the workflows module to replay against (default: the workflows of this forge-jobs)');
  temporalOptions(replay);
  configOptions(replay);
  jsonOption(replay).action(replayCommand);

  const setup = cli
    .command('setup')
    .description(
      'prepare a Temporal cluster: register the namespace if missing, set its retention, register the Forge search attributes; idempotent',
    );
  temporalOptions(setup);
  configOptions(setup);
  setup
    .option('--retention <duration>', `how long closed workflows are kept, e.g. 30d, 7d, 72h (default ${DEFAULT_RETENTION})`)
    .option('--no-retention', "leave an existing namespace's retention as it is")
    .option('--wait <seconds>', 'how long to wait for a just-registered namespace to be served (default 60)');
  jsonOption(setup).action(setupCommand);
  setup.addHelpText(
    'after',
    `
Retention is per namespace in Temporal: completed, failed and dead job workflows share it, and a dead job
can be inspected and retried only while it is retained. ${DEFAULT_RETENTION} is the default; use a longer one (or
Temporal archival) to keep dead jobs longer. On Temporal Cloud, namespaces and retention are managed in Cloud;
setup then needs permission to update them, or run it with --no-retention on an existing namespace.`,
  );

  registerJobsCommands(cli);
  registerCaptureCommands(cli);
  registerBackfillCommand(cli);
  registerCodecServerCommand(cli);

  for (const command of allCommands(cli)) configureErrors(command);
  cli.hook('preAction', (_root, action) => {
    current = commandPath(action);
  });
  return cli;
}

/** The command running now, for the error line. */
let current = '';

export async function main(argv: string[] = process.argv): Promise<void> {
  current = '';
  try {
    await program().parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // exitOverride was set by a command of its own: commander has printed its message already
      process.exitCode = err.exitCode;
      return;
    }
    process.stderr.write(formatError(current, err) + '\n');
    if (process.env.FORGE_DEBUG) process.stderr.write(`${(err as Error)?.stack ?? ''}\n`);
    const exitCode = (err as { exitCode?: unknown })?.exitCode;
    process.exitCode = typeof exitCode === 'number' ? exitCode : 1;
  }
}

/** `forge-jobs <command>: <reason>`; an artifact or config error adds its problems, one per line. */
export function formatError(command: string, err: unknown): string {
  const prefix = command ? `forge-jobs ${command}: ` : 'forge-jobs: ';
  const e = err as (Error & { problems?: Array<{ path: string; message: string }>; file?: string }) | undefined;
  if (e && Array.isArray(e.problems) && (e.name === 'ArtifactError' || e.name === 'ConfigError')) {
    const what = e.name === 'ArtifactError' ? 'invalid artifact' : `invalid runtime config ${e.file ?? ''}`.trim();
    const lines = e.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message));
    if (lines.length === 1) return `${prefix}${what}: ${lines[0]}`;
    return [`${prefix}${what} (${lines.length} problems):`, ...lines.map((l) => `  ${l}`)].join('\n');
  }
  let message = (e?.message ?? String(err)).trim();
  // a library message that already names the command ("codec-server: …", "forge-jobs worker: …")
  for (const p of [`forge-jobs ${command}: `, `${command}: `]) if (command && message.startsWith(p)) message = message.slice(p.length);
  const oneLine = message
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .join('; ');
  return prefix + (oneLine.length > 600 ? `${oneLine.slice(0, 599)}…` : oneLine || (e?.name ?? 'failed'));
}

/** Commander's own usage errors as one line in the same shape, exit code 1. */
function configureErrors(command: Command): void {
  const path = commandPath(command);
  command.configureOutput({
    outputError: (text, write) => {
      const reason = text.trim().replace(/^error:\s*/i, '');
      write(`forge-jobs${path ? ` ${path}` : ''}: ${reason} (see forge-jobs${path ? ` ${path}` : ''} --help)\n`);
    },
  });
}

function allCommands(root: Command): Command[] {
  return [root, ...root.commands.flatMap((c) => allCommands(c))];
}

/** "jobs dead" for a subcommand of jobs; "" for the program itself. */
function commandPath(command: Command): string {
  const names: string[] = [];
  for (let c: Command | null = command; c?.parent; c = c.parent) names.unshift(c.name());
  return names.join(' ');
}

function lazy<M, K extends keyof M>(load: () => Promise<M>, name: K): (...args: unknown[]) => Promise<void> {
  return async (...args) => {
    const fn = (await load())[name] as unknown as (...a: unknown[]) => Promise<void>;
    await fn(...args);
  };
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}
