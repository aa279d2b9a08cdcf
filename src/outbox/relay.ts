/**
 * The outbox relay: starts the workflows of committed outbox rows.
 *
 * Woken by LISTEN forge_jobs_outbox (enqueue NOTIFYs at COMMIT) with a polling sweep behind it, since a
 * NOTIFY sent while no relay listens is lost, and rows withTransaction wrote send none (the committing
 * process starts those itself; the sweep is their safety net). A sweep leases a batch of claimable rows in
 * one autocommitted UPDATE (SKIP LOCKED), starts their workflows without holding a transaction or a lock
 * (ids fixed by the row's event_id, so a start that finds the workflow already there is a success), then
 * marks each row: dispatched; unmatched (the running artifact lacks a job: the row stays for an artifact
 * that has it); unavailable (Temporal away: tried again soon, no attempt counted); or refused (attempts²
 * seconds until the next try, parked dead after maxAttempts). A relay that dies mid-batch leaves leased
 * rows another claims when the lease runs out; their restart is a no-op.
 */
import type { Pool, PoolClient } from 'pg';
import { createLogger, type Logger } from '../log';
import { migrate } from '../sql/migrations';
import { isTemporalUnavailable } from '../client/start';
import type { JobStarter } from '../client/starter';
import { backoffDelay } from '../retry/backoff';
import {
  CLAIM_OUTBOX_SQL,
  LISTEN_OUTBOX_SQL,
  MARK_DISPATCHED_SQL,
  MARK_REFUSED_SQL,
  MARK_UNAVAILABLE_SQL,
  MARK_UNMATCHED_SQL,
  OUTBOX_CHANNEL,
  PRUNE_OUTBOX_SQL,
} from '../sql/outbox';
import type { Row } from '../workflows/types';

export interface RelayOptions {
  pool: Pool;
  /** the starter whose hooks and start path the relay uses (createJobStarter); its OutboxDispatchError's kind
   * says how a row failed (another error counts as a refusal unless it says Temporal is unreachable) */
  client: Pick<JobStarter, 'dispatch'>;
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
  /** how long a claimed row is this relay's before another may claim it; default 30 s (well over the start deadline) */
  leaseMs?: number;
  /** refusals after which a row is parked dead (`forge-jobs outbox dead|retry`); default 10 */
  maxAttempts?: number;
  /** a row whose jobs the running artifact lacks is looked at again after this; default 30 s */
  unmatchedRetryMs?: number;
  /** a row Temporal was unavailable for is tried again after this; default the poll interval */
  unavailableRetryMs?: number;
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
export const DEFAULT_MAX_OUTBOX_ATTEMPTS = 10;

interface OutboxRow {
  id: string;
  event_id: string;
  entity: string;
  operation: string;
  record: Row;
  attempts: number;
  jobs: string[] | null;
}

export async function startRelay(options: RelayOptions): Promise<Relay> {
  const { pool, client } = options;
  const logger = options.logger ?? createLogger();
  const pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  const batchSize = Math.max(1, options.batchSize ?? DEFAULT_BATCH_SIZE);
  const pruneIntervalMs = options.pruneIntervalMs ?? Math.min(retentionMs, 10 * 60 * 1000);
  const leaseMs = options.leaseMs ?? 30_000;
  const maxAttempts = options.maxAttempts ?? DEFAULT_MAX_OUTBOX_ATTEMPTS;
  const unmatchedRetryMs = options.unmatchedRetryMs ?? 30_000;
  const unavailableRetryMs = options.unavailableRetryMs ?? pollIntervalMs;
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
      // Temporal is away: the rest waits for the next sweep rather than each row timing out now.
      if (batch.claimed < batchSize || batch.unavailable) break;
      cursor = batch.last;
    }
    return dispatched;
  }

  async function claimAndDispatch(cursor: string): Promise<{ claimed: number; dispatched: number; last: string; unavailable: boolean }> {
    const { rows } = await pool.query<OutboxRow>(CLAIM_OUTBOX_SQL, [cursor, batchSize, leaseMs]);
    if (rows.length === 0) return { claimed: 0, dispatched: 0, last: cursor, unavailable: false };
    rows.sort((a, b) => Number(BigInt(a.id) - BigInt(b.id)));
    const results = await Promise.allSettled(
      rows.map((row) => client.dispatch(row.entity, row.operation, row.record, row.event_id, row.jobs)),
    );
    const ok: string[] = [];
    let unavailable = false;
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const result = results[i];
      const fields = { outbox_id: row.id, event_id: row.event_id, entity: row.entity, operation: row.operation };
      if (result.status === 'fulfilled') {
        ok.push(row.id);
        logger.debug('outbox.dispatched', { ...fields, jobs: result.value.length });
        continue;
      }
      const error = ((result.reason as Error)?.message ?? String(result.reason)).slice(0, 2000);
      const kind = (result.reason as { kind?: string })?.kind;
      if (kind === 'unmatched') {
        // A rolling deploy or a renamed job: the workflow ids the app was given must still come to exist.
        const {
          rows: [mark],
        } = await pool.query(MARK_UNMATCHED_SQL, [row.id, unmatchedRetryMs, error]);
        if (mark?.first) logger.warn('outbox.unmatched', { ...fields, jobs: row.jobs ?? [], error });
      } else if (kind === 'unavailable' || (kind === undefined && isTemporalUnavailable(result.reason))) {
        unavailable = true;
        await pool.query(MARK_UNAVAILABLE_SQL, [row.id, error, unavailableRetryMs]);
      } else {
        const {
          rows: [mark],
        } = await pool.query(MARK_REFUSED_SQL, [row.id, error, maxAttempts]);
        if (mark?.dead) logger.error('outbox.dead', { ...fields, attempts: mark.attempts, error });
        else logger.warn('outbox.dispatch_failed', { ...fields, attempts: mark?.attempts, error });
      }
    }
    if (ok.length > 0) await pool.query(MARK_DISPATCHED_SQL, [ok]);
    return { claimed: rows.length, dispatched: ok.length, last: rows[rows.length - 1].id, unavailable };
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
      if (Date.now() - lastPrune >= pruneIntervalMs)
        await prune().catch((err) => logger.warn('outbox.prune_failed', { error: (err as Error).message }));
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
