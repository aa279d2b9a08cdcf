/** The record size check the client makes before it starts a job (test/integration/hostile.test.ts runs it end to end). */
import { checkRecordSize, RecordTooLargeError } from '../../../src/outbox/event';

describe('record size', () => {
  it('passes at the limit and refuses one byte over, naming size and limit', () => {
    const record = { id: 1, body: 'x'.repeat(100) };
    const size = Buffer.byteLength(JSON.stringify(record));
    expect(() => checkRecordSize('Note', 'create', record, size)).not.toThrow();
    const err = (() => {
      try {
        checkRecordSize('Note', 'create', record, size - 1);
      } catch (e) {
        return e as RecordTooLargeError;
      }
      throw new Error('not refused');
    })();
    expect(err).toBeInstanceOf(RecordTooLargeError);
    expect(err).toMatchObject({ size, limit: size - 1, code: 'record_too_large' });
    expect(err.message).toBe(
      `Note create: the record is ${size} bytes serialized, more than the limit ${size - 1} ([jobs] max_record_bytes)`,
    );
  });

  it('counts UTF-8 bytes, not characters', () => {
    expect(() => checkRecordSize('Note', 'create', { s: 'é'.repeat(10) }, 20)).toThrow(RecordTooLargeError);
  });
});
