/** The outbox row of one event, built before any SQL runs. */
import { deriveEventId } from '../../../src/outbox/event';
import { RecordTooLargeError } from '../../../src/outbox/event';
import { outboxRow, recordKeyOf, writeOutboxEvent } from '../../../src/outbox/enqueue';
import type { Queryable } from '../../../src/sql/outbox';

describe('outboxRow', () => {
  it('carries the event as given, the record id as its key, and no jobs named by default', () => {
    const record = { id: 7, subject: 'hi' };
    expect(outboxRow('Ticket', 'create', record)).toEqual({
      eventId: undefined,
      entity: 'Ticket',
      operation: 'create',
      record,
      recordKey: '7',
      jobs: [],
    });
    expect(outboxRow('Ticket', 'create', record, { eventId: 'e1', jobs: ['notify'] })).toMatchObject({ eventId: 'e1', jobs: ['notify'] });
  });

  it('keys a record without id by its content', () => {
    const record = { subject: 'no id' };
    expect(outboxRow('Ticket', 'create', record).recordKey).toBe(deriveEventId('Ticket', 'create', record));
    expect(recordKeyOf('Ticket', 'create', record)).not.toBe(recordKeyOf('Ticket', 'create', { subject: 'other' }));
  });

  it('refuses a record over the limit, before anything is written', async () => {
    const record = { id: 1, body: 'x'.repeat(200) };
    expect(() => outboxRow('Note', 'create', record, { maxRecordBytes: 100 })).toThrow(RecordTooLargeError);
    const queries: unknown[] = [];
    const tx = { query: async (...args: unknown[]) => (queries.push(args), { rows: [] }) } as unknown as Queryable;
    await expect(writeOutboxEvent(tx, 'Note', 'create', record, { maxRecordBytes: 100 })).rejects.toBeInstanceOf(RecordTooLargeError);
    expect(queries).toEqual([]);
  });

  it('takes 256 KiB as the default limit', () => {
    expect(() => outboxRow('Note', 'create', { id: 1, body: 'x'.repeat(200 * 1024) })).not.toThrow();
    expect(() => outboxRow('Note', 'create', { id: 1, body: 'x'.repeat(256 * 1024) })).toThrow(RecordTooLargeError);
  });
});
