/** Event and workflow ids: the same event gives the same ids however often it is started, a different one never does. */
import { deriveEventId, jobWorkflowId, recordIdOf, transactionEventId } from '../../../src/outbox/event';

describe('transactionEventId', () => {
  it('is 20 hex characters, the same for a transaction id given as text or as a bigint', () => {
    const id = transactionEventId('7421', 'Ticket', 'create', '42');
    expect(id).toMatch(/^[0-9a-f]{20}$/);
    expect(transactionEventId(7421n, 'Ticket', 'create', '42')).toBe(id);
  });

  it('differs when any part differs: transaction, entity, operation or record', () => {
    const base = transactionEventId('1', 'Ticket', 'update', '42');
    const others = [
      transactionEventId('2', 'Ticket', 'update', '42'),
      transactionEventId('1', 'Note', 'update', '42'),
      transactionEventId('1', 'Ticket', 'create', '42'),
      transactionEventId('1', 'Ticket', 'update', '43'),
    ];
    expect(new Set([base, ...others]).size).toBe(5);
  });

  it('separates its parts: moving a character from one part to the next is another event', () => {
    expect(transactionEventId('1', 'Ab', 'c', '1')).not.toBe(transactionEventId('1', 'A', 'bc', '1'));
  });
});

describe('deriveEventId', () => {
  it('does not depend on the order of keys, at any depth', () => {
    const a = deriveEventId('Ticket', 'update', { id: 1, subject: 'x', meta: { a: 1, b: [1, { c: 2, d: 3 }] } });
    const b = deriveEventId('Ticket', 'update', { meta: { b: [1, { d: 3, c: 2 }], a: 1 }, subject: 'x', id: 1 });
    expect(a).toBe(b);
    expect(a).toMatch(/^[0-9a-f]{20}$/);
  });

  it('tells versions of a row apart by content, and events apart by entity and operation', () => {
    const v1 = deriveEventId('Ticket', 'update', { id: 1, updated_at: '2026-01-01T00:00:00Z' });
    const v2 = deriveEventId('Ticket', 'update', { id: 1, updated_at: '2026-01-01T00:00:01Z' });
    expect(v1).not.toBe(v2);
    expect(deriveEventId('Ticket', 'create', { id: 1 })).not.toBe(deriveEventId('Ticket', 'update', { id: 1 }));
    expect(deriveEventId('Ticket', 'create', { id: 1 })).not.toBe(deriveEventId('Note', 'create', { id: 1 }));
  });

  it('reads a Date as its ISO text, and an absent value as null', () => {
    const at = new Date('2026-03-04T05:06:07.000Z');
    expect(deriveEventId('T', 'u', { at })).toBe(deriveEventId('T', 'u', { at: '2026-03-04T05:06:07.000Z' }));
    expect(deriveEventId('T', 'u', { x: undefined })).toBe(deriveEventId('T', 'u', { x: null }));
    expect(deriveEventId('T', 'u', { x: null })).not.toBe(deriveEventId('T', 'u', { x: 'null' }));
  });

  it('is not the same for a number and its text', () => {
    expect(deriveEventId('T', 'u', { id: 1 })).not.toBe(deriveEventId('T', 'u', { id: '1' }));
  });
});

describe('recordIdOf', () => {
  it('is the id as text, or empty when the row has none', () => {
    expect(recordIdOf({ id: 42 })).toBe('42');
    expect(recordIdOf({ id: 'a-b' })).toBe('a-b');
    expect(recordIdOf({ id: 0 })).toBe('0');
    expect(recordIdOf({ id: null })).toBe('');
    expect(recordIdOf({ name: 'x' })).toBe('');
  });
});

describe('jobWorkflowId', () => {
  it('names job, entity, operation, record and event, with - for a record without id', () => {
    const parts = { job: 'notify', entity: 'Ticket', operation: 'create', eventId: 'abc' };
    expect(jobWorkflowId({ ...parts, recordId: '42' })).toBe('forge/notify/Ticket/create/42/abc');
    expect(jobWorkflowId({ ...parts, recordId: '' })).toBe('forge/notify/Ticket/create/-/abc');
  });
});
