/**
 * Flag definitions shared by the commands, one place for their names and help. The values resolve in
 * config.ts: flag > environment variable > forge.runtime.toml > default.
 */
import { Option, type Command } from 'commander';

export const ENV = {
  address: 'TEMPORAL_ADDRESS',
  namespace: 'TEMPORAL_NAMESPACE',
  database: 'DATABASE_URL',
  config: 'FORGE_RUNTIME_CONFIG',
  artifact: 'FORGE_ARTIFACT',
  environment: 'FORGE_ENV',
} as const;

/** `forge-jobs setup`'s namespace retention when --retention is not given. */
export const DEFAULT_RETENTION = '30d';

export interface ConfigFlags {
  config?: string;
  environment?: string;
}
export interface ArtifactFlags {
  artifact?: string;
}
export interface TemporalFlags {
  address?: string;
  namespace?: string;
}
export interface DatabaseFlags {
  database?: string;
}
export interface JsonFlags {
  json?: boolean;
}

/** --config and --environment: the runtime file and which [environments.<name>] applies. */
export function configOptions(cmd: Command): Command {
  return cmd
    .option('--config <path>', `forge.runtime.toml (env ${ENV.config}; default ./forge.runtime.toml when present)`)
    .option('--environment <name>', `the [environments.<name>] to apply (env ${ENV.environment}; default development)`);
}

/** --artifact: the compiled artifact.json. */
export function artifactOption(cmd: Command): Command {
  return cmd.option('--artifact <path>', `the compiled artifact.json (env ${ENV.artifact}; default ./artifact.json when present)`);
}

/** --address and --namespace: where Temporal is, over [temporal] of the config. */
export function temporalOptions(cmd: Command): Command {
  return cmd
    .option('--address <host:port>', `Temporal frontend (env ${ENV.address}; else [temporal] address; default 127.0.0.1:7233)`)
    .option('--namespace <name>', `Temporal namespace (env ${ENV.namespace}; else [temporal] namespace; default "default")`);
}

/** --database: the app's Postgres. */
export function databaseOption(cmd: Command): Command {
  return cmd.option('--database <url>', `Postgres URL (env ${ENV.database}; else [database.postgres] url)`);
}

/** --json: machine output on stdout; progress stays on stderr. */
export function jsonOption(cmd: Command): Command {
  return cmd.addOption(new Option('--json', 'print JSON instead of tables'));
}
