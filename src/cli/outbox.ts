/**
 * `forge-jobs outbox dead|retry`: outbox rows the relay parked after repeated refusals, and giving them
 * back to the relays (attempts reset). The rows' records are never printed: ids, names and the reason.
 */
import { loadConfig, openPool, resolveDatabaseUrl } from './config';
import { print, printJson } from './format';
import type { ConfigFlags, DatabaseFlags, JsonFlags } from './options';
import { ago, renderTable } from './table';
import { listDeadOutbox, retryDeadOutbox } from '../admin';

export type OutboxFlags = ConfigFlags & DatabaseFlags & JsonFlags & { limit?: string };

export async function outboxDeadCommand(flags: OutboxFlags): Promise<void> {
  const limit = flags.limit === undefined ? 100 : Number(flags.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`--limit must be a positive integer, got ${JSON.stringify(flags.limit)}`);
  const pool = await openPool(resolveDatabaseUrl(flags, loadConfig(flags)), 1);
  try {
    const rows = await listDeadOutbox(pool, limit);
    if (flags.json) return printJson(rows);
    print(
      renderTable(rows, [
        { header: 'outbox id', value: (r) => r.id },
        { header: 'event', value: (r) => `${r.entity} ${r.operation}` },
        { header: 'event id', value: (r) => r.event_id },
        { header: 'attempts', value: (r) => String(r.attempts) },
        { header: 'dead', value: (r) => ago(r.dead_at) },
        { header: 'reason', value: (r) => r.last_error ?? '' },
      ]),
    );
  } finally {
    await pool.end();
  }
}

export async function outboxRetryCommand(ids: string[], flags: OutboxFlags & { all?: boolean }): Promise<void> {
  if (ids.length === 0 && !flags.all) throw new Error('name the outbox ids to retry, or pass --all');
  const bad = ids.find((id) => !/^\d+$/.test(id));
  if (bad !== undefined) throw new Error(`outbox ids are integers, got ${JSON.stringify(bad)}`);
  const pool = await openPool(resolveDatabaseUrl(flags, loadConfig(flags)), 1);
  try {
    const retried = await retryDeadOutbox(pool, ids.length > 0 ? ids : null);
    if (flags.json) return printJson({ retried });
    print(
      retried.length === 0
        ? 'no dead outbox rows matched'
        : `gave ${retried.length} dead outbox row${retried.length > 1 ? 's' : ''} back to the relay: ${retried.join(', ')}`,
    );
  } finally {
    await pool.end();
  }
}
