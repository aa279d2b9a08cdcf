/**
 * At-most-once for sends that cannot be taken back (email, HTTP), as far as the worker can see them.
 *
 * An attempt that dies after the SMTP or HTTP server accepted the request but before Temporal heard of
 * the activity's completion is retried, and would send again. So a confirmed send is recorded in the
 * effect ledger (forge_jobs.effect_ledger, under a `sent:` prefix, apart from entity.create's keys), and
 * a later attempt that finds its key there skips the send.
 *
 * The window that remains: a kill between the server's acceptance and the ledger insert. It is narrow
 * (one INSERT), not closed; the receiver can still recognise such a duplicate by its Message-ID or
 * Idempotency-Key, which are the same on every attempt. (The courier, src/courier, which makes the sends
 * of a worker, closes it for a worker's death: it outlives the worker to write the row.)
 */
import type { Pool } from 'pg';
import { TransientError } from '../errors';
import type { Logger } from '../log';
import { HTTP_CAPABILITIES } from '../providers/http';
import { claimLedgerKey, ledgerHasKey, ledgerKeysIn } from '../sql/ledger';

/** The sends that cannot be taken back: the same set the courier makes. */
export const SEND_CAPABILITIES: readonly string[] = ['email.send', ...HTTP_CAPABILITIES];

export function isLedgered(capability: string): boolean {
  return SEND_CAPABILITIES.includes(capability);
}

export function sentKey(idempotencyKey: string): string {
  return `sent:${idempotencyKey}`;
}

/** True when an earlier attempt's send under this key was confirmed. A database failure is transient: better late than twice. */
export async function alreadySent(pool: Pool, idempotencyKey: string): Promise<boolean> {
  const q = ledgerHasKey(sentKey(idempotencyKey));
  try {
    const { rowCount } = await pool.query(q.text, q.values);
    return (rowCount ?? 0) > 0;
  } catch (err) {
    throw new TransientError(`checking the effect ledger: ${(err as Error).message}`, undefined, 'database_unavailable');
  }
}

/** The ledger's answer for sends read together: true or false for a key asked, undefined for any other. */
export type SentLookup = (idempotencyKey: string) => boolean | undefined;

/**
 * Which of these sends an earlier attempt confirmed, in one statement (a batch asks once for a page of targets
 * instead of once per target). A database failure answers nothing: each send then asks alone, and its own
 * failure is classified as before.
 */
export async function sentAmong(pool: Pool, idempotencyKeys: readonly string[]): Promise<SentLookup> {
  const asked = new Set(idempotencyKeys.map(sentKey));
  if (asked.size === 0) return () => undefined;
  const q = ledgerKeysIn([...asked]);
  let found: Set<string>;
  try {
    const { rows } = await pool.query<{ key: string }>(q.text, q.values);
    found = new Set(rows.map((r) => r.key));
  } catch {
    return () => undefined;
  }
  return (idempotencyKey) => {
    const key = sentKey(idempotencyKey);
    return asked.has(key) ? found.has(key) : undefined;
  };
}

/**
 * Records a confirmed send. A failure here is logged, not thrown: the send happened, and failing the
 * attempt would make Temporal retry it, which is the duplicate this ledger exists to avoid.
 */
export async function recordSent(pool: Pool, idempotencyKey: string, logger: Logger, fields: Record<string, unknown>): Promise<void> {
  const q = claimLedgerKey(sentKey(idempotencyKey));
  try {
    await pool.query(q.text, q.values);
  } catch (err) {
    logger.warn('effect.ledger_failed', { ...fields, error: (err as Error).message });
  }
}
