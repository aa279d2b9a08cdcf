/**
 * One resolution of what the commands need, flag > environment variable > forge.runtime.toml > default,
 * into typed values. Only the entry points (../index, ../admin) are used.
 */
import { existsSync } from 'node:fs';
import type { Pool } from 'pg';
import { loadArtifact, loadRuntimeConfig, type Artifact, type RuntimeConfig, type TemporalConfig } from '../index';
import { createPool, defaultRuntimeConfig, parseDuration, resolveArtifact } from '../admin';
import { ENV, type ArtifactFlags, type ConfigFlags, type DatabaseFlags, type TemporalFlags } from './options';

/** Bad input: printed as one line `forge-jobs <command>: <message>`, exit code 1. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * A count flag (--limit, --parallel): a whole number of at least 1, else a UsageError
 * `<flag> must be <wording>, got "<text>"`. The wording is the command's own (its tests and help quote it).
 */
export function positiveInt(text: string, flag: string, wording = 'a positive integer'): number {
  if (!/^[1-9]\d*$/.test(text.trim())) throw new UsageError(`${flag} must be ${wording}, got ${JSON.stringify(text)}`);
  return Number(text);
}

const DEFAULT_CONFIG_FILE = 'forge.runtime.toml';
const DEFAULT_ARTIFACT_FILE = 'artifact.json';

/** --config, else $FORGE_RUNTIME_CONFIG, else ./forge.runtime.toml when present, else the built-in defaults. */
export function loadConfig(flags: ConfigFlags, env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const path = flags.config ?? (env[ENV.config] || undefined) ?? (existsSync(DEFAULT_CONFIG_FILE) ? DEFAULT_CONFIG_FILE : undefined);
  const environment = flags.environment ?? (env[ENV.environment] || undefined);
  if (!path) return environment ? { ...defaultRuntimeConfig(), environment } : defaultRuntimeConfig();
  return loadRuntimeConfig(path, { environment, env });
}

/** --artifact, else $FORGE_ARTIFACT, else ./artifact.json when present; [relations] of the config apply. */
export function loadCliArtifact(flags: ArtifactFlags, config: RuntimeConfig, env: NodeJS.ProcessEnv = process.env): Artifact {
  const path =
    flags.artifact ?? (env[ENV.artifact] || undefined) ?? (existsSync(DEFAULT_ARTIFACT_FILE) ? DEFAULT_ARTIFACT_FILE : undefined);
  if (!path) throw new UsageError(`no artifact: pass --artifact <path> or set ${ENV.artifact}`);
  if (!existsSync(path)) throw new UsageError(`artifact not found: ${path}`);
  return resolveArtifact(loadArtifact(path), config);
}

/**
 * [temporal] with --address / --namespace over $TEMPORAL_ADDRESS / $TEMPORAL_NAMESPACE over the file.
 * The config already carries the defaults, and the environment beats both the file and a default.
 */
export function resolveTemporal(flags: TemporalFlags, config: RuntimeConfig, env: NodeJS.ProcessEnv = process.env): TemporalConfig {
  const address = flags.address ?? (env[ENV.address] || undefined) ?? config.temporal.address;
  const namespace = flags.namespace ?? (env[ENV.namespace] || undefined) ?? config.temporal.namespace;
  if (!/^\S+:\d+$/.test(address)) throw new UsageError(`invalid Temporal address ${JSON.stringify(address)} (expected host:port)`);
  if (!namespace.trim()) throw new UsageError('the Temporal namespace is empty');
  return { ...config.temporal, address, namespace };
}

/** The config with the resolved [temporal] in it, for library calls that take a whole RuntimeConfig. */
export function withTemporal(config: RuntimeConfig, temporal: TemporalConfig): RuntimeConfig {
  return { ...config, temporal };
}

/** --database, else $DATABASE_URL, else [database.postgres] url; a clear error when there is none. */
export function resolveDatabaseUrl(flags: DatabaseFlags, config: RuntimeConfig, env: NodeJS.ProcessEnv = process.env): string {
  const url = flags.database ?? (env[ENV.database] || undefined) ?? config.database.url;
  if (!url) {
    throw new UsageError(`no database: pass --database <url>, set ${ENV.database}, or set [database.postgres] url in forge.runtime.toml`);
  }
  if (!/^postgres(ql)?:\/\//i.test(url)) throw new UsageError('the database must be a postgres:// or postgresql:// URL');
  return url;
}

const DAY_MS = 24 * 3600 * 1000;

/** "30d", "1d12h", "720h", "90m"…: a namespace retention in milliseconds, at least one day (Temporal's minimum). */
export function parseRetention(text: string): number {
  const match = /^\s*(?:(\d+)d)?(.*?)\s*$/.exec(text);
  let ms: number;
  try {
    const days = match?.[1] ? Number(match[1]) * DAY_MS : 0;
    const rest = match?.[2] ?? '';
    if (!match?.[1] && !rest) throw new Error('empty');
    ms = days + (rest ? parseDuration(rest, 'retention') : 0);
  } catch {
    throw new UsageError(`invalid retention ${JSON.stringify(text)} (use e.g. 30d, 7d, 72h)`);
  }
  if (ms < DAY_MS) throw new UsageError(`retention ${text} is shorter than Temporal's minimum of 1 day`);
  return ms;
}

/** 2592000000 → "30d", 93600000 → "1d2h". */
export function formatDuration(ms: number): string {
  const days = Math.floor(ms / DAY_MS);
  const hours = Math.floor((ms % DAY_MS) / 3_600_000);
  const minutes = Math.floor((ms % 3_600_000) / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  const parts = [days && `${days}d`, hours && `${hours}h`, minutes && `${minutes}m`, seconds && `${seconds}s`].filter(Boolean);
  return parts.length > 0 ? parts.join('') : '0s';
}

/** Postgres URL without its password, for progress lines. */
export function redactUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@');
}

/** A pool on the app's database, checked with one connection, so a wrong URL fails here with a clear line. */
export async function openPool(url: string, max = 2): Promise<Pool> {
  const pool = createPool({ connectionString: url, max, connectionTimeoutMillis: 10_000 });
  try {
    (await pool.connect()).release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new Error(`cannot connect to Postgres at ${redactUrl(url)}: ${(err as Error).message}`);
  }
  return pool;
}
