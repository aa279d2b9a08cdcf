import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE, DEFAULT_TEMPORAL_ADDRESS } from '../names';
import type { ConfigInputs } from './inputs';
import type { RuntimeConfig } from './types';

/** The one place defaults live: everything a file may leave out gets its value here. */
export function applyDefaults(inputs: ConfigInputs, environment: string, baseDir: string | undefined): RuntimeConfig {
  const { database, email, jobs, temporal, http, relations } = inputs;
  const config: RuntimeConfig = {
    environment,
    database: database.adapter === 'postgres' ? { adapter: 'postgres', url: database.url } : { adapter: 'embedded' },
    jobs: {
      concurrency: jobs.concurrency ?? 10,
      timeoutMs: jobs.timeoutMs ?? 30_000,
      maxAttempts: jobs.maxAttempts ?? 5,
      taskQueue: jobs.taskQueue ?? DEFAULT_TASK_QUEUE,
      completedRetentionMs: jobs.completedRetentionMs ?? 7 * 24 * 3600_000,
      templates: jobs.templates,
      rates: jobs.rates,
      // Optional bounds: absent means the built-in default where they are enforced.
      ...(jobs.maxRecordBytes !== undefined && { maxRecordBytes: jobs.maxRecordBytes }),
      ...(jobs.maxTargets !== undefined && { maxTargets: jobs.maxTargets }),
      ...(jobs.startDeadlineMs !== undefined && { startDeadlineMs: jobs.startDeadlineMs }),
    },
    temporal: {
      address: temporal.address ?? DEFAULT_TEMPORAL_ADDRESS,
      namespace: temporal.namespace ?? DEFAULT_NAMESPACE,
      ...(temporal.tls !== undefined && { tls: temporal.tls }),
      ...(temporal.apiKey !== undefined && { apiKey: temporal.apiKey }),
    },
    http: { allow: http.allow ?? [], timeoutMs: http.timeoutMs ?? 10_000, ...(http.rate && { rate: http.rate }) },
    relations,
  };
  if (email) {
    const tls = email.tls ?? false;
    config.email = {
      host: email.host,
      // 465 is implicit TLS (smtps); 587 is submission with STARTTLS
      port: email.port ?? (tls ? 465 : 587),
      ...(email.user !== undefined && { user: email.user }),
      ...(email.password !== undefined && { password: email.password }),
      from: email.from ?? 'forge-jobs@localhost',
      tls,
      ...(email.rate && { rate: email.rate }),
      ...(email.connections !== undefined && { connections: email.connections }),
    };
  }
  if (baseDir !== undefined) config.baseDir = baseDir;
  return config;
}
