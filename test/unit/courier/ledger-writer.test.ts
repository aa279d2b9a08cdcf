/** The courier's grouped sent-ledger writes: who waits for which statement, and what a failed one does. */
import { createSentLedgerWriter } from '../../../src/courier/ledger-writer';

interface Call {
  keys: string[];
  finish: (err?: Error) => void;
}

/** A pool whose statements finish when the test says so. */
function fakePool() {
  const calls: Call[] = [];
  const pool = {
    query: (_text: string, values: unknown[]) =>
      new Promise((resolve, reject) => {
        calls.push({ keys: values[0] as string[], finish: (err) => (err ? reject(err) : resolve({ rowCount: 0, rows: [] })) });
      }),
  };
  return { pool: pool as never, calls };
}

const logger = () => {
  const warnings: Array<Record<string, unknown>> = [];
  return {
    warnings,
    logger: { debug() {}, info() {}, warn: (_e: string, f?: Record<string, unknown>) => void warnings.push(f ?? {}), error() {} },
  };
};

/** Lets settled promises run their continuations. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

test('a lone row is written at once; rows that arrive meanwhile go together in the next statement', async () => {
  const { pool, calls } = fakePool();
  const writer = createSentLedgerWriter(pool, logger().logger);
  const done: string[] = [];
  const record = (key: string) => writer.record(key, {}).then(() => done.push(key));

  void record('a');
  expect(calls.map((c) => c.keys)).toEqual([['sent:a']]);
  void record('c');
  void record('b');
  void record('b');
  await settle();
  // held back while the first statement is in flight, and nobody is answered before their row committed
  expect(calls).toHaveLength(1);
  expect(done).toEqual([]);

  calls[0].finish();
  await settle();
  expect(done).toEqual(['a']);
  // distinct and sorted: two statements lock shared keys in the same order
  expect(calls[1].keys).toEqual(['sent:b', 'sent:c']);
  calls[1].finish();
  await settle();
  expect(done.sort()).toEqual(['a', 'b', 'b', 'c']);
});

test('a full batch does not wait behind the statement in flight, and no statement exceeds the batch size', async () => {
  const { pool, calls } = fakePool();
  const writer = createSentLedgerWriter(pool, logger().logger, { maxBatch: 3 });
  void writer.record('first', {});
  for (const k of ['1', '2', '3', '4']) void writer.record(k, {});
  await settle();
  expect(calls.map((c) => c.keys)).toEqual([['sent:first'], ['sent:1', 'sent:2', 'sent:3']]);
  // the rest waits while any statement is in flight
  calls[0].finish();
  await settle();
  expect(calls).toHaveLength(2);
  calls[1].finish();
  await settle();
  expect(calls[2].keys).toEqual(['sent:4']);
});

test('a failed statement is logged for each of its sends and answers them all', async () => {
  const { pool, calls } = fakePool();
  const { logger: log, warnings } = logger();
  const writer = createSentLedgerWriter(pool, log);
  const first = writer.record('a', { job_id: 'j1' });
  const second = writer.record('b', { job_id: 'j2' });
  const third = writer.record('c', { job_id: 'j3' });
  calls[0].finish(new Error('connection lost'));
  await first;
  calls[1].finish(new Error('connection lost'));
  await Promise.all([second, third]);
  expect(warnings).toEqual([
    { job_id: 'j1', error: 'connection lost' },
    { job_id: 'j2', error: 'connection lost' },
    { job_id: 'j3', error: 'connection lost' },
  ]);
});
