/**
 * The write side of the outbox, shared by client.enqueue and anything else that writes events in its own
 * transaction (another process, a script). The event id is fixed when the row is written, so every relay
 * that ever reads the row derives the same workflow ids from it: the caller's, else the transaction's
 * (forge_jobs.event_id), which a capture trigger gives the same write.
 */
import { checkRecordSize, DEFAULT_MAX_RECORD_BYTES, deriveEventId, recordIdOf } from './event';
import { insertOutboxRow, type OutboxRowInput, type Queryable } from '../sql/outbox';

export interface EnqueuedEvent {
  /** the outbox row id */
  id: string;
  eventId: string;
  /** the id of the transaction the row was written in (pg_current_xact_id()) */
  transactionId?: string;
}

export interface OutboxEventOptions {
  eventId?: string;
  maxRecordBytes?: number;
  /** the jobs the event starts; default none named (the relay's artifact decides) */
  jobs?: string[];
}

/**
 * The outbox row of one event. Without an explicit `eventId` the id is taken in SQL from the transaction
 * the row is written in (forge_jobs.event_id). A record whose JSON exceeds `maxRecordBytes` (default
 * 256 KiB) throws RecordTooLargeError here, before any SQL, so the app's transaction decides what to do.
 */
export function outboxRow(
  entity: string,
  operation: string,
  record: Record<string, unknown>,
  options: OutboxEventOptions = {},
): OutboxRowInput {
  checkRecordSize(entity, operation, record, options.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES);
  return {
    eventId: options.eventId,
    entity,
    operation,
    record,
    recordKey: recordKeyOf(entity, operation, record),
    jobs: options.jobs ?? [],
  };
}

/** What a transaction's event id is of: the record's id, or its content when it has none. */
export function recordKeyOf(entity: string, operation: string, record: Record<string, unknown>): string {
  return recordIdOf(record) || deriveEventId(entity, operation, record);
}

/** Inserts the outbox row and NOTIFYs the relay on `tx`, a client inside BEGIN: nothing happens until COMMIT. */
export async function writeOutboxEvent(
  tx: Queryable,
  entity: string,
  operation: string,
  record: Record<string, unknown>,
  options: OutboxEventOptions = {},
): Promise<EnqueuedEvent> {
  return insertOutboxRow(tx, outboxRow(entity, operation, record, options));
}
