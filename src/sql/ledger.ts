/**
 * The effect ledger (forge_jobs.effect_ledger): its table, claiming and checking idempotency keys, pruning;
 * and entity.create's one row into an artifact entity's table, which a ledger claim makes happen once per
 * key. Identifiers come from the artifact and are quoted; every value is a bind parameter.
 */
import type { Pool } from 'pg';
import { quoteIdent, quoteTable } from './identifiers';

export const LEDGER_SCHEMA = 'forge_jobs';
export const LEDGER_TABLE = `${LEDGER_SCHEMA}.effect_ledger`;

/** The ledger table: migration 1 creates it, and ensureLedger where no migration has run. Idempotent. */
export const CREATE_LEDGER_SQL = `
      CREATE TABLE IF NOT EXISTS forge_jobs.effect_ledger (
        key text PRIMARY KEY,
        created_at timestamptz NOT NULL DEFAULT now()
      );`;

/** The ledger's schema and table, for a database no worker has migrated. */
export const LEDGER_DDL: readonly string[] = [`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(LEDGER_SCHEMA)}`, CREATE_LEDGER_SQL];

/**
 * Creates the ledger when it is missing. The existence check comes first because CREATE SCHEMA IF NOT
 * EXISTS still needs the CREATE privilege, which a worker's database role may rightly lack once the
 * migrations have made the table.
 */
export async function ensureLedger(pool: Pick<Pool, 'query'>): Promise<void> {
  const { rows } = await pool.query<{ found: string | null }>('SELECT to_regclass($1) AS found', [LEDGER_TABLE]);
  if (rows[0]?.found) return;
  for (const statement of LEDGER_DDL) await pool.query(statement);
}

import type { Statement } from './statement';

export type { Statement };

/**
 * Claims a key in the ledger. Returns a row when this transaction claimed it; no row means the effect
 * already committed under this key. A concurrent claim waits on the primary key until the other
 * transaction ends, so two attempts can never both insert.
 */
export function claimLedgerKey(key: string): Statement {
  return {
    text: `INSERT INTO ${quoteTable(LEDGER_TABLE)} (key) VALUES ($1) ON CONFLICT (key) DO NOTHING RETURNING key`,
    values: [key],
  };
}

/**
 * Claims many keys in one statement (the courier's sent-ledger rows, written together). Keys already there
 * are left as they are. The caller passes them distinct and sorted: two such statements then take the
 * primary key's locks in the same order and cannot deadlock on keys they share.
 */
export function claimLedgerKeys(keys: readonly string[]): Statement {
  return {
    text: `INSERT INTO ${quoteTable(LEDGER_TABLE)} (key) SELECT unnest($1::text[]) ON CONFLICT (key) DO NOTHING`,
    values: [keys],
  };
}

/** Which of these keys are in the ledger: one statement for a page of a batch's targets. */
export function ledgerKeysIn(keys: readonly string[]): Statement {
  return { text: `SELECT key FROM ${quoteTable(LEDGER_TABLE)} WHERE key = ANY($1::text[])`, values: [keys] };
}

/** Whether a key is in the ledger (email and HTTP effects record a key once their send is confirmed). */
export function ledgerHasKey(key: string): Statement {
  return { text: `SELECT 1 FROM ${quoteTable(LEDGER_TABLE)} WHERE key = $1`, values: [key] };
}

/**
 * Deletes ledger keys created longer than $1 ms ago, at most $2 per call, oldest first (the created_at
 * index of migration 3). Returns the number deleted as rowCount.
 */
export function pruneLedgerKeys(olderThanMs: number, limit: number): Statement {
  return {
    text: `DELETE FROM ${quoteTable(LEDGER_TABLE)} WHERE key IN (
      SELECT key FROM ${quoteTable(LEDGER_TABLE)} WHERE created_at < now() - ($1::bigint * interval '1 millisecond') ORDER BY created_at LIMIT $2)`,
    values: [Math.floor(olderThanMs), limit],
  };
}

// An alias no column is likely to share: a column named like the alias would shadow the row reference.
const ROW_ALIAS = quoteIdent('forge_jobs_inserted_row');

/**
 * INSERT of one row. `id` is read from the row as JSON so that the statement works whether or not the
 * table has an id column (null when it has none), without a catalogue query first.
 */
export function insertRow(table: string, fields: Record<string, unknown>): Statement {
  const columns = Object.keys(fields);
  const values = columns.map((c) => fields[c]);
  const target = `${quoteTable(table)} AS ${ROW_ALIAS}`;
  const returning = `RETURNING to_jsonb(${ROW_ALIAS}) -> 'id' AS id`;
  if (columns.length === 0) return { text: `INSERT INTO ${target} DEFAULT VALUES ${returning}`, values };
  const list = columns.map(quoteIdent).join(', ');
  const params = columns.map((_, i) => `$${i + 1}`).join(', ');
  return { text: `INSERT INTO ${target} (${list}) VALUES (${params}) ${returning}`, values };
}
