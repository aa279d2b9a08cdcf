/** The public API of forge-jobs. The CLI uses nothing but these exports. */
export { loadArtifact, ArtifactError, parseFilter } from './artifact';
export type { Artifact, JobDef, EntityDef, RelationDef, HookDef } from './artifact/types';
export { loadRuntimeConfig, resolveRuntimeConfig, defaultRuntimeConfig, ConfigError } from './config';
export type { RuntimeConfig } from './config/types';
export { createJobClient } from './client';
export type { JobClient, JobClientOptions, StartedJob } from './client';
export { createJobWorker } from './worker';
export type { JobWorker, JobWorkerOptions } from './worker';
export type { EffectRequest, EmailRequest, HttpRequest, EntityCreateRequest } from './effects/types';
export type { JobHandler, HandlerArgs } from './effects/build';
export type { Provider } from './providers/types';
export { PermanentError, TransientError, SandboxViolation } from './errors';
export { migrate } from './sql/migrations';
export { startRelay, writeOutboxEvent, insertOutboxRow, OUTBOX_CHANNEL, OUTBOX_TABLE } from './outbox';
export type { Relay, RelayOptions, EnqueuedEvent } from './outbox';
export { DEFAULT_TASK_QUEUE, SEARCH_ATTRIBUTES } from './shared';
