/** Outbox rows the relay parked after repeated refusals: listing them, and giving them back to the relays. */
import type { Pool } from 'pg';
import { LIST_DEAD_OUTBOX_SQL, RETRY_DEAD_OUTBOX_SQL } from '../sql/outbox';

export interface DeadOutboxRow {
  id: string;
  event_id: string;
  entity: string;
  operation: string;
  attempts: number;
  last_error: string | null;
  dead_at: Date;
  created_at: Date;
}

/** The newest `limit` dead rows: ids, names and the reason, never the record. */
export async function listDeadOutbox(pool: Pick<Pool, 'query'>, limit: number): Promise<DeadOutboxRow[]> {
  return (await pool.query<DeadOutboxRow>(LIST_DEAD_OUTBOX_SQL, [limit])).rows;
}

/** Gives the named dead rows (all of them with null) back to the relays, attempts reset; the ids retried, ascending. */
export async function retryDeadOutbox(pool: Pick<Pool, 'query'>, ids: readonly string[] | null): Promise<string[]> {
  const { rows } = await pool.query<{ id: string }>(RETRY_DEAD_OUTBOX_SQL, [ids]);
  return rows.map((r) => r.id).sort((a, b) => Number(BigInt(a) - BigInt(b)));
}
