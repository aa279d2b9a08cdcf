import type { Rate } from './rate';
import type { JobTemplate, RelationOverride, TemporalConfig } from './types';

/**
 * What each section of the file says, validated but before defaults: undefined means "not
 * configured". defaults.ts turns these into a RuntimeConfig, so every default lives in one place.
 */
export interface ConfigInputs {
  database: { adapter?: 'embedded' | 'postgres'; url?: string };
  /** undefined when there is no [email] section (or it is unusable, with a problem recorded) */
  email?: {
    host: string;
    port?: number;
    user?: string;
    password?: string;
    from?: string;
    tls?: boolean;
    rate?: Rate;
    connections?: number;
  };
  jobs: {
    concurrency?: number;
    timeoutMs?: number;
    maxAttempts?: number;
    taskQueue?: string;
    maxRecordBytes?: number;
    maxTargets?: number;
    startDeadlineMs?: number;
    completedRetentionMs?: number;
    templates: Record<string, JobTemplate>;
    rates: Record<string, Rate>;
  };
  temporal: { address?: string; namespace?: string; tls?: TemporalConfig['tls']; apiKey?: string };
  http: { allow?: string[]; timeoutMs?: number; rate?: Rate };
  relations: Record<string, RelationOverride>;
}
