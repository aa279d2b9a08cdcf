import { readDatabase } from './database';
import { applyDefaults } from './defaults';
import { readEmail } from './email';
import { applyEnvironment } from './environments';
import { ConfigError, INLINE_SOURCE } from './errors';
import { readHttp } from './http';
import { readJobs } from './jobs';
import { Reader } from './reader';
import { readRelations } from './relations';
import { readTemporal } from './temporal';
import type { RuntimeConfig } from './types';
import { unknownKeyWarnings } from './unknown-keys';
import { isTable, typeName } from './values';

export interface RuntimeConfigOptions {
  /** which [environments.<name>] applies; default FORGE_ENV, then "development" */
  environment?: string;
  /** where `env:` references, FORGE_ENV and DATABASE_URL are looked up; default process.env */
  env?: NodeJS.ProcessEnv;
}

export interface ResolveOptions extends RuntimeConfigOptions {
  /** directory relative paths (TLS certificates) are resolved against; the loader passes the file's */
  baseDir?: string;
  /** names the source in error messages; the loader passes the file path */
  file?: string;
}

/**
 * A parsed forge.runtime.toml (any object) → RuntimeConfig. Order matters: the environment override
 * is merged first, then `env:` references resolve lazily as sections read them, then defaults apply.
 * Throws one ConfigError listing every problem.
 */
export function resolveRuntimeConfig(raw: unknown, options: ResolveOptions = {}): RuntimeConfig {
  const env = options.env ?? process.env;
  const environment = options.environment ?? (env.FORGE_ENV || 'development');
  const reader = new Reader(env);
  const source = raw === undefined ? {} : raw;
  if (!isTable(source)) {
    throw new ConfigError(options.file ?? INLINE_SOURCE, [
      { path: '', message: `expected a table at the top level, got ${typeName(source)}` },
    ]);
  }
  const doc = applyEnvironment(source, environment, reader.problems);
  const inputs = {
    database: readDatabase(reader, doc, env),
    email: readEmail(reader, doc),
    jobs: readJobs(reader, doc),
    temporal: readTemporal(reader, doc, options.baseDir),
    http: readHttp(reader, doc),
    relations: readRelations(reader, doc),
  };
  if (reader.problems.length > 0) throw new ConfigError(options.file ?? INLINE_SOURCE, reader.problems);
  const config = applyDefaults(inputs, environment, options.baseDir);
  const warnings = unknownKeyWarnings(doc);
  if (warnings.length > 0) config.warnings = warnings;
  return config;
}

/** What an empty file means, e.g. for tests and `forge-jobs dev` without a runtime file. */
export function defaultRuntimeConfig(): RuntimeConfig {
  return resolveRuntimeConfig({});
}
