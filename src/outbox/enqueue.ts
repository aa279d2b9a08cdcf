/**
 * The write side of the outbox, shared by client.enqueue and anything else that writes events in its own
 * transaction (another process, a script). The event id is fixed here, when the row is written, so every
 * relay that ever reads the row derives the same workflow ids from it.
 */
import { deriveEventId } from '../client/ids';
import { insertOutboxRow, type Queryable } from '../sql/outbox';

export interface EnqueuedEvent {
  /** the outbox row id */
  id: string;
  eventId: string;
}

/** Inserts the outbox row and NOTIFYs the relay on `tx`, a client inside BEGIN: nothing happens until COMMIT. */
export async function writeOutboxEvent(
  tx: Queryable,
  entity: string,
  operation: string,
  record: Record<string, unknown>,
  options: { eventId?: string } = {},
): Promise<EnqueuedEvent> {
  const eventId = options.eventId ?? deriveEventId(entity, operation, record);
  const id = await insertOutboxRow(tx, { eventId, entity, operation, record });
  return { id, eventId };
}
