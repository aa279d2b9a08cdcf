/**
 * The worker's activities, built by a factory over their dependencies. Workflows see only the type:
 * `proxyActivities<ReturnType<typeof createActivities>>`.
 */
import type { Pool } from 'pg';
import type { Artifact } from '../artifact/types';
import type { RuntimeConfig } from '../config/types';
import type { JobHandler } from '../effects/build';
import { createLogger, type Logger } from '../log';
import type { ProviderRegistry } from '../providers/registry';
import type { Pacer } from '../rate/pacer';
import { createRunBatch, createTargetBounds } from './batch';
import { createRunEffect, type EffectDeps } from './effect';
import { createRunEffects } from './effects';
import { triggerRecord } from './record';
import { createJobInputs, type JobInputs } from './records';
import { createReportJob } from './report';
import { createResolveTargets } from './resolve';

export interface ActivityDeps {
  pool: Pool;
  providers: ProviderRegistry;
  artifact: Artifact;
  config: RuntimeConfig;
  handlers?: Record<string, JobHandler>;
  logger?: Logger;
  maxTargets?: number;
  /** a rate lane's worker: each send waits for its turn */
  pacer?: Pacer;
  /** job run inputs by reference; default one cache per activity set */
  jobs?: JobInputs;
}

export function createActivities(deps: ActivityDeps) {
  const logger = deps.logger ?? createLogger();
  const jobs = deps.jobs ?? createJobInputs({ record: (input) => triggerRecord(deps.pool, deps.artifact, input.entity, input.record) });
  const effectDeps: EffectDeps = { ...deps, logger, jobs, handlers: deps.handlers ?? {} };
  return {
    // A runaway fan-out dies with needs_limit: `[jobs] max_targets`, else src/needs' default.
    resolveTargets: createResolveTargets({ ...deps, jobs, maxTargets: deps.maxTargets ?? deps.config.jobs.maxTargets }),
    runEffect: createRunEffect(effectDeps),
    // The batches of a job that fanned out before paging (src/workflows/targets.ts); histories of such jobs replay.
    runEffects: createRunEffects(effectDeps),
    // A paged fan-out's parts (src/workflows/part.ts).
    targetBounds: createTargetBounds(effectDeps),
    runBatch: createRunBatch(effectDeps),
    reportJob: createReportJob({ logger, artifact: deps.artifact }),
  };
}
