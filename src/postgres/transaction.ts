import type { Pool, PoolClient } from 'pg';

import type { Statement } from '../sql/statement';

/**
 * BEGIN … fn … COMMIT on one client of `pool`; ROLLBACK and rethrow when fn or COMMIT throws.
 * `lastWrites`, given fn's value, names statements that go out with the COMMIT, in the same round trip
 * (the outbox rows of withTransaction): on a sub-millisecond commit, one more round trip is a third more.
 * It must throw, not write, when the transaction should not commit.
 */
export async function inTransaction<T>(pool: Pool, fn: (tx: PoolClient) => Promise<T>, lastWrites?: (value: T) => Statement[]): Promise<T> {
  return (await inTransactionAnswered(pool, fn, lastWrites)).value;
}

/** inTransaction, with the rows each of `lastWrites` answered (in order), read once COMMIT succeeded. */
export async function inTransactionAnswered<T>(
  pool: Pool,
  fn: (tx: PoolClient) => Promise<T>,
  lastWrites?: (value: T) => Statement[],
): Promise<{ value: T; answers: Array<Array<Record<string, unknown>>> }> {
  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    const value = await fn(tx);
    const answers = await commitWith(tx, lastWrites?.(value) ?? []);
    return { value, answers };
  } catch (err) {
    await tx.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    tx.release();
  }
}

/**
 * COMMIT, preceded by `writes` without waiting for their answers: node-postgres' pipeline mode writes
 * them all before reading an answer; a driver without it queues them one by one, with the same outcome.
 * A write that fails aborts the transaction, so the COMMIT behind it answers ROLLBACK: the write's
 * error is thrown and nothing was committed.
 */
async function commitWith(tx: PoolClient, writes: Statement[]): Promise<Array<Array<Record<string, unknown>>>> {
  if (writes.length === 0) {
    await tx.query('COMMIT');
    return [];
  }
  const client = tx as PoolClient & { pipeline?: boolean };
  const pipelined = typeof client.pipeline === 'boolean' && !client.pipeline;
  if (pipelined) client.pipeline = true;
  try {
    const answers = await Promise.allSettled([...writes.map((w) => tx.query(w.text, w.values)), tx.query('COMMIT')]);
    const failed = answers.find((a): a is PromiseRejectedResult => a.status === 'rejected');
    if (failed) throw failed.reason;
    const commit = answers[answers.length - 1] as PromiseFulfilledResult<{ command: string }>;
    if (commit.value.command !== 'COMMIT') throw new Error(`COMMIT answered ${commit.value.command}: the transaction had already failed`);
    return answers.slice(0, -1).map((a) => (a as PromiseFulfilledResult<{ rows: Array<Record<string, unknown>> }>).value.rows);
  } finally {
    if (pipelined) client.pipeline = false;
  }
}
