/** The forge-jobs command line: a client of the public API, split by command. */
import { Command } from 'commander';
import { devCommand } from './dev';
import { workerCommand } from './worker';
import { registerCodecServerCommand } from './codec-server';

export function program(): Command {
  const cli = new Command('forge-jobs').description('The post-commit job pipeline of Forge applications, on Temporal').showHelpAfterError();

  cli
    .command('dev')
    .description('run the whole stack locally: Temporal dev server + Web UI, Postgres, a mail sink, the worker and the example app')
    .option('--artifact <path>', 'artifact.json (default: examples/helpdesk)')
    .option('--config <path>', 'forge.runtime.toml')
    .option('--schema <path>', 'SQL run once on a fresh database')
    .option('--seed <path>', 'SQL run after the schema')
    .option('--port <port>', 'port of the app server (default 3000, or a free one)')
    .action(devCommand);

  cli
    .command('worker')
    .description('run a worker: polls the task queue and runs the jobs')
    .requiredOption('--artifact <path>', 'artifact.json')
    .requiredOption('--config <path>', 'forge.runtime.toml')
    .option('--environment <name>', 'the [environments.<name>] to apply (default FORGE_ENV or development)')
    .action(workerCommand);

  registerCodecServerCommand(cli);
  return cli;
}

export async function main(argv: string[] = process.argv): Promise<void> {
  try {
    await program().parseAsync(argv);
  } catch (err) {
    process.stderr.write(`forge-jobs: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
