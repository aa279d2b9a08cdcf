/**
 * The courier's sent-ledger writes, grouped: a send's row is written together with the rows of the sends that
 * finished while the previous write was in flight, as one INSERT (one commit) instead of one each. Under load
 * the batches grow with the commit time, so the commits a second stay few however many sends there are; an
 * idle courier writes a lone row at once, adding no wait.
 *
 * `record` resolves only once its row's statement has committed (or failed and been logged), and the courier
 * replies to the worker only after that: a worker that dies from then on leaves its retry a row to find, the
 * same window as a write of its own per send.
 */
import type { Pool } from 'pg';
import { sentKey } from '../activities/sent-ledger';
import type { Logger } from '../log';
import { claimLedgerKeys } from '../sql/ledger';

export interface SentLedgerWriter {
  /** records a confirmed send; never throws (a failed write is logged: the send happened either way) */
  record(idempotencyKey: string, fields: Record<string, unknown>): Promise<void>;
}

interface Waiting {
  key: string;
  fields: Record<string, unknown>;
  done: () => void;
}

/** the most rows in one statement: a bounded parameter, and a bounded wait for the sends that share it */
export const MAX_BATCH = 500;
/**
 * Statements in flight at once. The first waits for nobody; the second lets a full batch go while the first
 * commits, so a burst is not held behind one slow commit.
 */
const MAX_WRITES = 2;

export function createSentLedgerWriter(pool: Pick<Pool, 'query'>, logger: Logger, options: { maxBatch?: number } = {}): SentLedgerWriter {
  const maxBatch = options.maxBatch ?? MAX_BATCH;
  const queue: Waiting[] = [];
  let writing = 0;

  // A second statement only for a full batch: below that, the rows wait for the write in flight and go together.
  const pump = () => {
    while (queue.length > 0 && (writing === 0 || (writing < MAX_WRITES && queue.length >= maxBatch))) {
      void write(queue.splice(0, maxBatch));
    }
  };

  async function write(batch: Waiting[]): Promise<void> {
    writing++;
    try {
      const q = claimLedgerKeys([...new Set(batch.map((w) => w.key))].sort());
      await pool.query(q.text, q.values);
    } catch (err) {
      const error = (err as Error).message;
      for (const w of batch) logger.warn('effect.ledger_failed', { ...w.fields, error });
    } finally {
      writing--;
      for (const w of batch) w.done();
      pump();
    }
  }

  return {
    record(idempotencyKey, fields) {
      return new Promise<void>((resolve) => {
        queue.push({ key: sentKey(idempotencyKey), fields, done: resolve });
        pump();
      });
    },
  };
}
