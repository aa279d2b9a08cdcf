import type { Rate } from './rate';
import type { ThroughDef } from '../artifact/types';

/** forge.runtime.toml, resolved: env: secrets substituted, [environments.X] merged, defaults applied. */

export interface EmailConfig {
  host: string;
  port: number;
  user?: string;
  password?: string;
  from: string;
  /** the most messages per period across all workers, enforced by the Temporal server */
  rate?: Rate;
  /** implicit TLS (smtps); STARTTLS is negotiated when the server offers it */
  tls: boolean;
  /** SMTP connections each courier keeps open (its pool); default: 5, or enough for `rate` */
  connections?: number;
}

/** A per-job template, [jobs.<name>]: strings may use {{trigger.field}}, {{target.field}}, {{job}}, {{operation}}. */
export interface JobTemplate {
  [key: string]: unknown;
  subject?: string;
  text?: string;
  html?: string;
  to?: string;
  from?: string;
  url?: string;
  method?: string;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface JobsConfig {
  concurrency: number;
  /** per-attempt timeout of one effect, in milliseconds (TOML: seconds or a duration like "30s") */
  timeoutMs: number;
  maxAttempts: number;
  taskQueue: string;
  templates: Record<string, JobTemplate>;
  /** [jobs.<name>] rate: a limit of one job's own, over [email]/[http] rate */
  rates: Record<string, Rate>;
  /** largest serialized record afterCommit/enqueue accept, in bytes (`[jobs] max_record_bytes`); default DEFAULT_MAX_RECORD_BYTES */
  maxRecordBytes?: number;
  /** most targets one job's needs may reach (`[jobs] max_targets`); default DEFAULT_MAX_TARGETS of src/needs */
  maxTargets?: number;
  /** longest afterCommit/withTransaction wait for Temporal to accept a start before the event goes to the
   * outbox (`[jobs] start_deadline`); default DEFAULT_START_DEADLINE_MS of src/client/start.ts */
  startDeadlineMs?: number;
  /** completed job runs are deleted from Temporal after this (`[jobs] completed_retention`, default 7 days), while
   * dead ones stay for the namespace's retention (`forge-jobs setup --retention`, default 30 days) */
  completedRetentionMs: number;
}

export interface TemporalConfig {
  address: string;
  namespace: string;
  tls?: { clientCertPath?: string; clientKeyPath?: string; serverRootCaCertPath?: string; serverNameOverride?: string } | boolean;
  apiKey?: string;
}

export interface HttpConfig {
  /** hosts or CIDRs that may be reached although private or loopback */
  allow: string[];
  timeoutMs: number;
  rate?: Rate;
}

export interface RelationOverride {
  inverse_key?: string;
  through?: ThroughDef;
  foreign_key?: string;
}

export interface RuntimeConfig {
  environment: string;
  database: { adapter: 'embedded' | 'postgres'; url?: string };
  email?: EmailConfig;
  jobs: JobsConfig;
  temporal: TemporalConfig;
  http: HttpConfig;
  /** keyed "Entity.relation" */
  relations: Record<string, RelationOverride>;
  /** what loaded but looks wrong (an unknown key in a known section), each naming its path; absent when none */
  warnings?: string[];
  /** the directory the file was read from, for resolving relative paths */
  baseDir?: string;
}
