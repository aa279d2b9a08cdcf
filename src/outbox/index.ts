/** The transactional outbox: write events in the app's transaction (enqueue), start them after COMMIT (relay). */
export { writeOutboxEvent, type EnqueuedEvent } from './enqueue';
export { startRelay, DEFAULT_BATCH_SIZE, DEFAULT_POLL_INTERVAL_MS, DEFAULT_RETENTION_MS, type Relay, type RelayOptions } from './relay';
export { OUTBOX_CHANNEL, OUTBOX_TABLE } from '../sql/outbox';
