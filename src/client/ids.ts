/**
 * Workflow IDs derive from the event and the job, so the same event started twice (a retried request, two
 * relays) starts one workflow. Ids and names only: never record contents.
 */
import { createHash } from 'node:crypto';

type Row = Record<string, unknown>;

/** An event without an explicit id is identified by what was committed: same row, same event. */
export function deriveEventId(entity: string, operation: string, record: Row): string {
  return createHash('sha256').update(`${entity}\0${operation}\0${stableJson(record)}`).digest('hex').slice(0, 20);
}

/**
 * The event id of one write of one transaction, as forge_jobs.event_id (src/sql/capture.ts) computes it in
 * the database: a capture trigger and an enqueue of the same write give the same id.
 */
export function transactionEventId(txid: string | bigint, entity: string, operation: string, recordId: string): string {
  return createHash('sha256').update(`${txid}|${entity}|${operation}|${recordId}`, 'utf8').digest('hex').slice(0, 20);
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
    const entries = Object.keys(value as Row).sort().map((k) => JSON.stringify(k) + ':' + stableJson((value as Row)[k]));
    return '{' + entries.join(',') + '}';
  }
  return JSON.stringify(value ?? null);
}
