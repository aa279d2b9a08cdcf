/**
 * forge-jobs' own tables, in the app's database under schema forge_jobs. Numbered and never edited once
 * released; an advisory lock keeps two workers starting at once from migrating twice.
 */
import type { Pool, PoolClient } from 'pg';
import { CAPTURE_MIGRATION_SQL } from './capture';
import { CREATE_LEDGER_SQL } from './ledger';
import { CREATE_OUTBOX_SQL, OUTBOX_EDGES_SQL } from './outbox';
import { CREATE_DEAD_TARGETS_SQL } from './pages';

/** Well-known advisory lock id: "forgejob" in ASCII, truncated to fit a bigint. */
export const MIGRATE_LOCK_ID = 0x666f7267656a6f62n;

export const MIGRATIONS: ReadonlyArray<{ id: number; name: string; sql: string }> = [
  { id: 1, name: 'effect_ledger', sql: CREATE_LEDGER_SQL },
  { id: 2, name: 'outbox', sql: CREATE_OUTBOX_SQL },
  // The ledger is pruned by age (src/client/prune.ts): without this index every sweep reads the whole table.
  {
    id: 3,
    name: 'effect_ledger_created_at',
    sql: `CREATE INDEX IF NOT EXISTS effect_ledger_created_at_idx ON forge_jobs.effect_ledger (created_at)`,
  },
  // A large job's dead targets, kept where a redrive can page them instead of in one failure payload.
  { id: 4, name: 'dead_targets', sql: CREATE_DEAD_TARGETS_SQL },
  { id: 5, name: 'outbox_event_ids_leases_dead', sql: OUTBOX_EDGES_SQL },
  // Database capture and backfill (src/sql/capture.ts, src/sql/backfill.ts): the event id function shared by
  // triggers and enqueue, the outbox's unique event key, the outbox's job list, backfill state.
  { id: 6, name: 'capture', sql: CAPTURE_MIGRATION_SQL },
];

export async function migrate(pool: Pool): Promise<number[]> {
  const client: PoolClient = await pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK_ID.toString()]);
    await client.query('CREATE SCHEMA IF NOT EXISTS forge_jobs');
    await client.query(`CREATE TABLE IF NOT EXISTS forge_jobs.migrations (
      id integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const { rows } = await client.query<{ id: number }>('SELECT id FROM forge_jobs.migrations');
    const applied = new Set(rows.map((r) => r.id));
    const ran: number[] = [];
    for (const m of MIGRATIONS) {
      if (applied.has(m.id)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO forge_jobs.migrations (id, name) VALUES ($1, $2)', [m.id, m.name]);
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK');
        throw new Error(`forge-jobs migration ${m.id} (${m.name}) failed: ${(err as Error).message}`);
      }
      ran.push(m.id);
    }
    return ran;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATE_LOCK_ID.toString()]).catch(() => undefined);
    client.release();
  }
}
