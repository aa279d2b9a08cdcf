/** The public API of forge-jobs. The CLI uses nothing but these exports. */
export { loadArtifact, ArtifactError, parseFilter } from './artifact';
export type { Artifact, JobDef, EntityDef, RelationDef, HookDef } from './artifact/types';
export { loadRuntimeConfig, resolveRuntimeConfig, defaultRuntimeConfig, ConfigError } from './config';
export type { RuntimeConfig } from './config/types';
export { createJobClient, RecordTooLargeError, DEFAULT_MAX_RECORD_BYTES, DEFAULT_START_DEADLINE_MS, StartDeadlineError, OutboxDispatchError } from './client';
export type { JobClient, JobClientOptions, StartedJob, AfterCommitOptions } from './client';
export { transactionEventId } from './client/ids';
export { createJobInspector, parseSince } from './client/inspect';
export type { JobInspector, InspectorOptions, DeadJob, DeadJobsQuery, RetriedJob, JobDetails, JobRun, JobStats } from './client/inspect';
export { createJobWorker } from './worker';
export type { JobWorker, JobWorkerOptions } from './worker';
export type { EffectRequest, EmailRequest, HttpRequest, EntityCreateRequest } from './effects/types';
export type { JobHandler, HandlerArgs } from './effects/build';
export type { Provider } from './providers/types';
export { PermanentError, TransientError, SandboxViolation } from './errors';
export { migrate } from './sql/migrations';
export { startRelay, writeOutboxEvent, insertOutboxRow, OUTBOX_CHANNEL, OUTBOX_TABLE } from './outbox';
export type { Relay, RelayOptions, EnqueuedEvent } from './outbox';
export { DEFAULT_TASK_QUEUE, SEARCH_ATTRIBUTES } from './names';
// Used by the CLI (src/cli): explain, setup, replay, relay, migrate.
export { explainNeeds } from './needs';
export type { HopExplanation, NeedsExplanation } from './needs';
export { resolveArtifact, resolveArtifactWithDatabase } from './artifact/configured';
export { parseDuration } from './config';
export type { TemporalConfig } from './config/types';
export { connectionOptions } from './temporal/connect';
export { ensureSearchAttributes, listCustomSearchAttributes, namespaceRetentionMs, registerNamespace } from './temporal/register';
export { DEFAULT_TEMPORAL_ADDRESS, DEFAULT_NAMESPACE, SEARCH_ATTRIBUTE_TYPES, GRPC_STATUS } from './names';
/** The workflow code's entry point, for bundleWorkflowCode (replay tests, a prebuilt production bundle). */
export const WORKFLOWS_PATH: string = require.resolve('./workflows');

export { createPool } from './postgres/pool';
export { inTransaction } from './postgres/transaction';
export { createEncryptionCodec, codecFromEnv, dataConverterFromEnv, startCodecServer, DEFAULT_CODEC_PORT, DEFAULT_CORS_ORIGINS } from './codec';
/**
 * The dev stack brings an SMTP server and a mail parser (~10 MiB): loaded when called, so a worker or relay
 * that imports this package does not carry them.
 */
export const startDevStack: typeof import('./dev/stack').startDevStack = (...args) => (require('./dev/stack') as typeof import('./dev/stack')).startDevStack(...args);
export { captureStatus, installCapture, removeCapture, expectedCapture } from './capture';
export type { CaptureChange, CaptureStatus, CaptureStatusEntry, CaptureState } from './capture';
export { maxRecordBytes } from './client/limits';
export { runBackfill, dryRunBackfill, listBackfills, planBackfill, DEFAULT_BACKFILL_PAGE_SIZE } from './backfill';
export type { BackfillOptions, BackfillProgress, BackfillPlan, BackfillRecord } from './backfill';
export { pruneCompleted, pruneDeadTargets, pruneLedger, ledgerKeepMs } from './client/prune';

