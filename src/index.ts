/**
 * `forge-jobs`: what an app and a worker need. The app writes events in its transactions (createJobClient),
 * the worker runs their jobs (createJobWorker), and an inspector answers what happened (createJobInspector).
 * Setup, migrations, the relay on its own, replay, capture, backfill, pruning and the dev stack are in
 * `forge-jobs/admin` (src/admin.ts).
 */
export { loadArtifact, ArtifactError } from './artifact';
export type { Artifact, JobDef, EntityDef, RelationDef, HookDef } from './artifact/types';
export { loadRuntimeConfig, resolveRuntimeConfig, ConfigError } from './config';
export type { RuntimeConfig, TemporalConfig } from './config/types';
export { createJobClient, RecordTooLargeError, StartDeadlineError } from './client';
export type { JobClient, JobClientOptions, StartedJob, AfterCommitOptions, EnqueuedEvent } from './client';
export { createJobInspector } from './client/inspect';
export type { JobInspector, InspectorOptions, DeadJob, DeadJobsQuery, RetriedJob, JobDetails, JobRun, JobStats } from './client/inspect';
export { createJobWorker } from './worker';
export type { JobWorker, JobWorkerOptions, DatabaseOpener } from './worker';
export type { EffectRequest, EmailRequest, HttpRequest, EntityCreateRequest } from './effects/types';
export type { JobHandler, HandlerArgs } from './effects/build';
export type { Provider } from './providers/types';
export { PermanentError, TransientError, SandboxViolation } from './errors';
export { dataConverterFromEnv } from './codec';

/** The workflow code's entry point, for bundleWorkflowCode (replay tests, a prebuilt production bundle). */
export const WORKFLOWS_PATH: string = require.resolve('./workflows');
