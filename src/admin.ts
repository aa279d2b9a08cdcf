/**
 * `forge-jobs/admin`: operating forge-jobs, for the CLI and scripts. Setting up a Temporal namespace, database
 * migrations, explaining needs, replaying histories, the relay on its own, capture triggers, backfills,
 * pruning, dead outbox rows, the codec server, and the dev stack (the tooling in src/dev).
 */
import type * as DevStackModule from './dev/stack';

// setup: the namespace and its search attributes
export { connectionOptions } from './temporal/connect';
export {
  ensureSearchAttributes,
  listCustomSearchAttributes,
  namespaceRetentionMs,
  registerNamespace,
  ensureNamespace,
} from './temporal/register';
export {
  DEFAULT_TASK_QUEUE,
  DEFAULT_TEMPORAL_ADDRESS,
  DEFAULT_NAMESPACE,
  SEARCH_ATTRIBUTES,
  SEARCH_ATTRIBUTE_TYPES,
  GRPC_STATUS,
} from './names';
// config and artifact as the commands resolve them
export { defaultRuntimeConfig, parseDuration } from './config';
export { resolveArtifact, resolveArtifactWithDatabase } from './artifact/configured';
export { createPool } from './postgres/pool';
export { maxRecordBytes, transactionEventId } from './outbox/event';
// migrate, explain
export { migrate } from './sql/migrations';
export { explainNeeds } from './needs';
export type { HopExplanation, NeedsExplanation } from './needs';
// the outbox: one way to write a row outside a client, the relay on its own, dead rows
export { writeOutboxEvent, type EnqueuedEvent } from './outbox/enqueue';
export { startRelay, type Relay, type RelayOptions } from './outbox/relay';
export { createJobStarter, type JobStarter, type JobStarterOptions } from './client/starter';
export { listDeadOutbox, retryDeadOutbox, type DeadOutboxRow } from './outbox/dead';
export { OUTBOX_CHANNEL, OUTBOX_TABLE } from './sql/outbox';
// inspection from the shell
export { parseSince } from './config/duration';
export { rateLanes } from './rate/lanes';
// replay
export { replayFromServer, DEFAULT_REPLAY_LIMIT, DEFAULT_REPLAY_PARALLEL } from './replay/from-server';
export type { ServerReplayOptions, ServerReplaySummary, ReplayOutcome } from './replay/from-server';
export { describeReplayFailure } from './replay/failure';
// capture and backfill
export { captureStatus, installCapture, removeCapture, expectedCapture } from './capture';
export type { CaptureChange, CaptureStatus, CaptureStatusEntry, CaptureState } from './capture';
export { runBackfill, dryRunBackfill, listBackfills, planBackfill, DEFAULT_BACKFILL_PAGE_SIZE } from './backfill';
export type { BackfillOptions, BackfillProgress, BackfillPlan, BackfillRecord } from './backfill';
// pruning
export { pruneCompleted, pruneDeadTargets, pruneLedger, ledgerKeepMs } from './client/prune';
// payload encryption
export { createEncryptionCodec, codecFromEnv, startCodecServer, DEFAULT_CODEC_PORT, DEFAULT_CORS_ORIGINS } from './codec';
// the dev stack and embedded Postgres (tooling)
export { embeddedDatabase } from './dev/embedded-postgres';
export { DevStackInterrupted } from './dev/interrupted';
export type { DevStack, DevStackOptions } from './dev/stack';

/**
 * The dev stack brings an SMTP server and a mail parser (~10 MiB): loaded when called, so the relay or any
 * other command that imports this module does not carry them.
 */
export const startDevStack: typeof DevStackModule.startDevStack = (...args) =>
  (require('./dev/stack') as typeof DevStackModule).startDevStack(...args);
