/**
 * The outbox relay: starts the workflows of committed outbox rows.
 *
 * Woken by LISTEN forge_jobs_outbox (enqueue NOTIFYs at COMMIT) with a polling sweep behind it, since a
 * NOTIFY sent while no relay listens is lost. A sweep claims rows with FOR UPDATE SKIP LOCKED inside a
 * transaction, starts their workflows (ids fixed by the row's event_id, so a start that finds the workflow
 * already there is a success), and marks them dispatched in that same transaction. Two relays never claim
 * one row at once; a relay that dies after the starts but before COMMIT leaves rows whose restart is a no-op.
 */
import type { Pool, PoolClient } from 'pg';
import type { JobClient } from '../client';
import { createLogger, type Logger } from '../log';
import { migrate } from '../sql/migrations';
import { CLAIM_OUTBOX_SQL, LISTEN_OUTBOX_SQL, MARK_DISPATCHED_SQL, MARK_FAILED_SQL, OUTBOX_CHANNEL, PRUNE_OUTBOX_SQL } from '../sql/outbox';
import type { Row } from '../workflows/types';

export interface RelayOptions {
  pool: Pool;
  /** the client whose hooks and start path the relay uses (createJobClient) */
  client: Pick<JobClient, 'dispatch'>;
  logger?: Logger;
  /** sweep even without a NOTIFY this often; default 1000 ms */
  pollIntervalMs?: number;
  /** dispatched rows older than this are deleted; default 7 days */
  retentionMs?: number;
  /** rows claimed per transaction; default 100 */
  batchSize?: number;
  /** how often to prune; default min(retentionMs, 10 minutes) */
  pruneIntervalMs?: number;
  /** run migrations first (default true; the worker has already run them) */
  migrate?: boolean;
  /** LISTEN reconnect backoff: base and cap; default 250 ms and 30 s */
  reconnectBaseMs?: number;
  reconnectMaxMs?: number;
}

export interface Relay {
  /** stops listening and sweeping, and waits for an in-flight sweep to commit */
  stop(): Promise<void>;
  /** one full sweep now (also what a NOTIFY triggers); resolves with the number of rows dispatched */
  sweep(): Promise<number>;
  /** deletes dispatched rows older than the retention now; resolves with the number deleted */
  prune(): Promise<number>;
}

export const DEFAULT_POLL_INTERVAL_MS = 1000;
export const DEFAULT_RETENTION_MS = 7 * 24 * 3600 * 1000;
export const DEFAULT_BATCH_SIZE = 100;

interface OutboxRow {
  id: string;
  event_id: string;
  entity: string;
  operation: string;
  record: Row;
  attempts: number;
  /** the jobs the row names (a backfill's); null: the entity's after hooks decide (enqueue, capture) */
  jobs: string[] | null;
}

/** Capped exponential backoff with full jitter: a random delay in [cap/2, cap] of base·2^attempt, at most max. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + random() * (cap / 2));
}

export async function startRelay(options: RelayOptions): Promise<Relay> {
  const { pool, client } = options;
  const logger = options.logger ?? createLogger();
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);
  const pruneIntervalMs = options.pruneIntervalMs ?? Math.min(retentionMs, 10 * 60 * 1000);
  const reconnectBaseMs = options.reconnectBaseMs ?? 250;
  const reconnectMaxMs = options.reconnectMaxMs ?? 30000;

  if (options.migrate !== false) await migrate(pool);

  let stopped = false;
  let listener: PoolClient | undefined;
  let reconnectTimer: NodeJS.Timeout | undefined;
  let reconnectAttempt = 0;
  let pollTimer: NodeJS.Timeout | undefined;
  let lastPrune = 0;

  // One sweep at a time per relay; a wake-up during a sweep runs one more after it.
  let sweeping: Promise<number> | undefined;
  let again = false;

  function sweep(): Promise<number> {
    if (sweeping) {
      again = true;
      return sweeping;
    }
    sweeping = (async () => {
      let total = 0;
      do {
        again = false;
        total += await sweepOnce();
      } while (again && !stopped);
      return total;
    })().finally(() => (sweeping = undefined));
    return sweeping;
  }

  /** Walks the outbox from the start once; each row is tried at most once per sweep. */
  async function sweepOnce(): Promise<number> {
    let cursor = '0';
    let dispatched = 0;
    while (!stopped) {
      const batch = await claimAndDispatch(cursor);
      dispatched += batch.dispatched;
      if (batch.claimed < batchSize) break;
      cursor = batch.last;
    }
    return dispatched;
  }

  async function claimAndDispatch(cursor: string): Promise<{ claimed: number; dispatched: number; last: string }> {
    const tx = await pool.connect();
    let broken = false;
    try {
      await tx.query('BEGIN');
      const { rows } = await tx.query<OutboxRow>(CLAIM_OUTBOX_SQL, [cursor, batchSize]);
      if (rows.length === 0) {
        await tx.query('COMMIT');
        return { claimed: 0, dispatched: 0, last: cursor };
      }
      const results = await Promise.allSettled(rows.map((row) => client.dispatch(row.entity, row.operation, row.record, row.event_id, row.jobs)));
      const ok: string[] = [];
      for (let i = 0; i < rows.length; i++) {
        const row = rows[i];
        const result = results[i];
        if (result.status === 'fulfilled') {
          ok.push(row.id);
          logger.debug('outbox.dispatched', { outbox_id: row.id, event_id: row.event_id, entity: row.entity, operation: row.operation, jobs: result.value.length });
        } else {
          const error = (result.reason as Error)?.message ?? String(result.reason);
          await tx.query(MARK_FAILED_SQL, [row.id, error.slice(0, 2000)]);
          logger.warn('outbox.dispatch_failed', { outbox_id: row.id, event_id: row.event_id, entity: row.entity, operation: row.operation, attempts: row.attempts + 1, error });
        }
      }
      if (ok.length > 0) await tx.query(MARK_DISPATCHED_SQL, [ok]);
      await tx.query('COMMIT');
      return { claimed: rows.length, dispatched: ok.length, last: rows[rows.length - 1].id };
    } catch (err) {
      broken = true;
      await tx.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      tx.release(broken);
    }
  }

  async function prune(): Promise<number> {
    lastPrune = Date.now();
    let deleted = 0;
    for (;;) {
      const result = await pool.query(PRUNE_OUTBOX_SQL, [Math.max(0, Math.floor(retentionMs)), 1000]);
      deleted += result.rowCount ?? 0;
      if ((result.rowCount ?? 0) < 1000 || stopped) break;
    }
    if (deleted > 0) logger.info('outbox.pruned', { deleted, retention_ms: retentionMs });
    return deleted;
  }

  /** A wake-up (NOTIFY, poll, reconnect): sweep, and log rather than throw, since the next tick retries. */
  function wake(reason: string): void {
    if (stopped) return;
    sweep().catch((err) => logger.warn('outbox.sweep_failed', { reason, error: (err as Error).message }));
  }

  function schedulePoll(): void {
    if (stopped) return;
    pollTimer = setTimeout(async () => {
      wake('poll');
      if (Date.now() - lastPrune >= pruneIntervalMs) await prune().catch((err) => logger.warn('outbox.prune_failed', { error: (err as Error).message }));
      schedulePoll();
    }, pollIntervalMs);
    pollTimer.unref?.();
  }

  async function listen(): Promise<void> {
    if (stopped) return;
    let conn: PoolClient | undefined;
    let lost = false;
    const onNotification = (msg: { channel: string }) => {
      if (msg.channel === OUTBOX_CHANNEL) wake('notify');
    };
    /** Drops this connection once (error, end, failed LISTEN) and, unless stopping, reconnects. */
    const drop = (err?: Error) => {
      if (lost) return;
      lost = true;
      const c = conn;
      if (c) {
        c.removeListener('notification', onNotification);
        c.on('error', () => undefined); // a late error on a dropped connection is not news
        if (listener === c) listener = undefined;
        try {
          c.release(true);
        } catch {
          // already released
        }
      }
      if (stopped) return;
      logger.warn('outbox.listen_lost', { attempt: reconnectAttempt, error: err?.message ?? 'connection ended' });
      scheduleReconnect();
    };
    try {
      conn = await pool.connect();
      conn.on('error', drop);
      conn.on('end', () => drop());
      conn.on('notification', onNotification);
      await conn.query(LISTEN_OUTBOX_SQL);
    } catch (err) {
      drop(err as Error);
      return;
    }
    if (lost) return;
    if (stopped) {
      drop();
      return;
    }
    listener = conn;
    if (reconnectAttempt > 0) logger.info('outbox.listen_restored', { attempts: reconnectAttempt });
    reconnectAttempt = 0;
    wake('listen'); // whatever was committed while no one listened
  }

  function scheduleReconnect(): void {
    if (stopped || reconnectTimer) return;
    const delay = backoffDelay(reconnectAttempt++, reconnectBaseMs, reconnectMaxMs);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = undefined;
      void listen();
    }, delay);
    reconnectTimer.unref?.();
  }

  await listen();
  schedulePoll();
  await prune().catch((err) => logger.warn('outbox.prune_failed', { error: (err as Error).message }));
  logger.info('outbox.relay_started', { poll_interval_ms: pollIntervalMs, retention_ms: retentionMs, batch_size: batchSize });

  return {
    sweep,
    prune,
    async stop() {
      if (stopped) return;
      stopped = true;
      if (pollTimer) clearTimeout(pollTimer);
      if (reconnectTimer) clearTimeout(reconnectTimer);
      await sweeping?.catch(() => undefined);
      const l = listener;
      listener = undefined;
      if (l) {
        l.removeAllListeners('notification');
        l.removeAllListeners('end');
        l.on('error', () => undefined);
        await l.query(`UNLISTEN ${OUTBOX_CHANNEL}`).catch(() => undefined);
        try {
          l.release(true);
        } catch {
          // already released after an error
        }
      }
      logger.info('outbox.relay_stopped', {});
    },
  };
}
