/** The bounds of issue 7 item 3, one function at a time (test/integration/hostile.test.ts runs them end to end). */
import { resolveRuntimeConfig } from '../../src/config';
import { checkRecordSize, DEFAULT_MAX_RECORD_BYTES, maxRecordBytes, RecordTooLargeError } from '../../src/outbox/event';
import { PermanentError } from '../../src/errors';
import { checkPayloadSize, MAX_EFFECT_PAYLOAD_BYTES } from '../../src/providers/limits';
import { configError } from './config/helpers';

const noEnv = {} as NodeJS.ProcessEnv;

describe('[jobs] max_record_bytes and max_targets', () => {
  it('are optional: absent means the built-in defaults', () => {
    const config = resolveRuntimeConfig({}, { env: noEnv });
    expect(config.jobs.maxRecordBytes).toBeUndefined();
    expect(config.jobs.maxTargets).toBeUndefined();
    expect(maxRecordBytes(config)).toBe(DEFAULT_MAX_RECORD_BYTES);
    expect(DEFAULT_MAX_RECORD_BYTES).toBe(256 * 1024);
  });

  it('are read when given', () => {
    const config = resolveRuntimeConfig({ jobs: { max_record_bytes: 4096, max_targets: 50 } }, { env: noEnv });
    expect(config.jobs).toMatchObject({ maxRecordBytes: 4096, maxTargets: 50 });
    expect(maxRecordBytes(config)).toBe(4096);
  });

  it('are refused with their path when not positive integers', () => {
    const err = configError(() => resolveRuntimeConfig({ jobs: { max_record_bytes: 0, max_targets: 'many' } }, { env: noEnv }));
    expect(err.problems.map((p) => p.path).sort()).toEqual(['jobs.max_record_bytes', 'jobs.max_targets']);
  });
});

describe('[jobs] completed_retention', () => {
  it('defaults to 7 days, reads a duration, and refuses nonsense with its path', () => {
    expect(resolveRuntimeConfig({}, { env: noEnv }).jobs.completedRetentionMs).toBe(7 * 24 * 3600_000);
    expect(resolveRuntimeConfig({ jobs: { completed_retention: '36h' } }, { env: noEnv }).jobs.completedRetentionMs).toBe(36 * 3600_000);
    const err = configError(() => resolveRuntimeConfig({ jobs: { completed_retention: 'a while' } }, { env: noEnv }));
    expect(err.problems.map((p) => p.path)).toEqual(['jobs.completed_retention']);
  });
});

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
    expect(err.message).toBe(`Note create: the record is ${size} bytes serialized, more than the limit ${size - 1} ([jobs] max_record_bytes)`);
  });

  it('counts UTF-8 bytes, not characters', () => {
    expect(() => checkRecordSize('Note', 'create', { s: 'é'.repeat(10) }, 20)).toThrow(RecordTooLargeError);
  });
});

describe('effect payload size', () => {
  it('is a permanent error naming size and limit', () => {
    expect(MAX_EFFECT_PAYLOAD_BYTES).toBe(1024 * 1024);
    expect(() => checkPayloadSize('email.send: the body', MAX_EFFECT_PAYLOAD_BYTES)).not.toThrow();
    expect(() => checkPayloadSize('email.send: the body', MAX_EFFECT_PAYLOAD_BYTES + 1)).toThrow(PermanentError);
    expect(() => checkPayloadSize('email.send: the body', MAX_EFFECT_PAYLOAD_BYTES + 1)).toThrow(
      `email.send: the body is ${MAX_EFFECT_PAYLOAD_BYTES + 1} bytes, more than the limit ${MAX_EFFECT_PAYLOAD_BYTES}`,
    );
  });
});
