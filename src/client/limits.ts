/**
 * The bound on what an event may carry. The record travels in the workflow input (and the outbox row),
 * so an oversized one would be refused by Temporal's payload limit after the app had moved on, or bloat
 * every history it enters: it is refused before it gets there, naming its size and the limit.
 */
import type { RuntimeConfig } from '../config/types';

/** Default of `[jobs] max_record_bytes`: 256 KiB of serialized JSON. */
export const DEFAULT_MAX_RECORD_BYTES = 256 * 1024;

export class RecordTooLargeError extends Error {
  readonly code = 'record_too_large';
  constructor(
    readonly entity: string,
    readonly operation: string,
    readonly size: number,
    readonly limit: number,
  ) {
    super(`${entity} ${operation}: the record is ${size} bytes serialized, more than the limit ${limit} ([jobs] max_record_bytes)`);
    this.name = 'RecordTooLargeError';
  }
}

export function maxRecordBytes(config: Pick<RuntimeConfig, 'jobs'>): number {
  return config.jobs.maxRecordBytes ?? DEFAULT_MAX_RECORD_BYTES;
}

/** Throws RecordTooLargeError when the record's JSON is larger than `limit` bytes. */
export function checkRecordSize(entity: string, operation: string, record: unknown, limit: number): void {
  const size = Buffer.byteLength(JSON.stringify(record) ?? '', 'utf8');
  if (size > limit) throw new RecordTooLargeError(entity, operation, size, limit);
}
