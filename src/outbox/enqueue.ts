/**
 * The write side of the outbox, shared by client.enqueue and anything else that writes events in its own
 * transaction (another process, a script). The event id is fixed when the row is written, so every relay
 * that ever reads the row derives the same workflow ids from it: the caller's, else the transaction's
 * (forge_jobs.event_id), which a capture trigger gives the same write.
 */
import { checkRecordSize, DEFAULT_MAX_RECORD_BYTES } from '../client/limits';
import { insertOutboxEvent, type OutboxRowInput, type Queryable } from '../sql/outbox';

export interface EnqueuedEvent {
  /** the outbox row id */
  id: string;
  eventId: string;
}

export interface OutboxEventOptions {
  eventId?: string;
  maxRecordBytes?: number;
}

/**
 * The outbox row of one event. A record whose JSON exceeds `maxRecordBytes` (default
 * 256 KiB) throws RecordTooLargeError here, before any SQL, so the app's transaction decides what to do.
 */
export function outboxRow(entity: string, operation: string, record: Record<string, unknown>, options: OutboxEventOptions = {}): OutboxRowInput {
  checkRecordSize(entity, operation, record, options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES);
  return { eventId: options.eventId, entity, operation, record };
}

/** Inserts the outbox row and NOTIFYs the relay on `tx`, a client inside BEGIN: nothing happens until COMMIT. */
export async function writeOutboxEvent(
  tx: Queryable,
  entity: string,
  operation: string,
  record: Record<string, unknown>,
  options: OutboxEventOptions = {},
): Promise<EnqueuedEvent> {
  return insertOutboxEvent(tx, outboxRow(entity, operation, record, options));
}
