/**
 * An event as the client and the outbox both write it: its id and the workflow ids derived from it, and the
 * bound on its record.
 *
 * Workflow IDs derive from the event and the job, so the same event started twice (a retried request, two
 * relays) starts one workflow. Ids and names only: never record contents.
 *
 * The record travels in the workflow input (and the outbox row), so an oversized one would be refused by
 * Temporal's payload limit after the app had moved on, or bloat every history it enters: it is refused
 * before it gets there, naming its size and the limit.
 */
import { createHash } from 'node:crypto';
import type { RuntimeConfig } from '../config/types';

type Row = Record<string, unknown>;

/**
 * The id of an event whose transaction is known: the transaction's id (pg_current_xact_id(), a 64-bit
 * xid8 that never wraps) with what changed. A row that goes A→B→A→B commits four distinct events, and the
 * same commit seen twice is one. The SQL function forge_jobs.event_id (migration 5) computes the same
 * string, so an id taken in SQL (enqueue, a capture trigger) and one taken here agree.
 */
export function transactionEventId(transactionId: string | bigint, entity: string, operation: string, recordId: string): string {
  return createHash('sha256')
    .update(`${String(transactionId)}|${entity}|${operation}|${recordId}`, 'utf8')
    .digest('hex')
    .slice(0, 20);
}

/**
 * An event whose transaction is not known (afterCommit without `transactionId`, a script's own row) is
 * identified by what was committed: same row content, same event. A table whose rows carry an
 * `updated_at` tells its versions apart; one without it should pass the transaction id.
 */
export function deriveEventId(entity: string, operation: string, record: Row): string {
  return createHash('sha256')
    .update(`${entity}\0${operation}\0${stableJson(record)}`)
    .digest('hex')
    .slice(0, 20);
}

export function recordIdOf(record: Row): string {
  const id = record.id;
  return id === undefined || id === null ? '' : String(id);
}

export function jobWorkflowId(a: { job: string; entity: string; operation: string; recordId: string; eventId: string }): string {
  return `forge/${a.job}/${a.entity}/${a.operation}/${a.recordId || '-'}/${a.eventId}`;
}

function stableJson(value: unknown): string {
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (Array.isArray(value)) return '[' + value.map(stableJson).join(',') + ']';
  if (value && typeof value === 'object') {
    const entries = Object.keys(value as Row)
      .sort()
      .map((k) => JSON.stringify(k) + ':' + stableJson((value as Row)[k]));
    return '{' + entries.join(',') + '}';
  }
  return JSON.stringify(value ?? null);
}

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
