/** mapLimit: bounded concurrency the workflows and activities share; deterministic order. */
import { mapLimit } from '../../src/map-limit';

/** A task per item that ends when the test says so, and records when each one started. */
function gated<T>() {
  const started: T[] = [];
  const gates = new Map<T, () => void>();
  const run = (item: T) =>
    new Promise<string>((resolve) => {
      started.push(item);
      gates.set(item, () => resolve(`done ${String(item)}`));
    });
  const finish = async (item: T) => {
    gates.get(item)!();
    // let the lane that finished take its next item
    for (let i = 0; i < 5; i++) await Promise.resolve();
  };
  return { started, run, finish };
}

describe('mapLimit', () => {
  it('gives results in item order, whatever order the work ends in', async () => {
    const { run, finish } = gated<number>();
    const all = mapLimit([1, 2, 3], 3, run);
    await finish(3);
    await finish(1);
    await finish(2);
    await expect(all).resolves.toEqual(['done 1', 'done 2', 'done 3']);
  });

  it('runs at most `limit` at a time, lane i starting with item i, the next item going to the lane that frees first', async () => {
    const { started, run, finish } = gated<string>();
    const all = mapLimit(['a', 'b', 'c', 'd', 'e'], 2, run);
    await Promise.resolve();
    expect(started).toEqual(['a', 'b']);
    await finish('b');
    expect(started).toEqual(['a', 'b', 'c']);
    await finish('c');
    expect(started).toEqual(['a', 'b', 'c', 'd']);
    await finish('a');
    expect(started).toEqual(['a', 'b', 'c', 'd', 'e']);
    await finish('d');
    await finish('e');
    await expect(all).resolves.toHaveLength(5);
  });

  it('passes the index, and takes a limit below 1 or not a number as 1', async () => {
    expect(await mapLimit(['x', 'y'], 4, async (item, i) => `${item}${i}`)).toEqual(['x0', 'y1']);
    for (const limit of [0, -3, NaN, 0.5]) {
      const { started, run, finish } = gated<number>();
      const all = mapLimit([1, 2], limit, run);
      await Promise.resolve();
      expect(started).toEqual([1]);
      await finish(1);
      await finish(2);
      await all;
    }
  });

  it('gives an empty list for no items, and rejects with the first failure', async () => {
    expect(await mapLimit([], 3, async () => 1)).toEqual([]);
    await expect(mapLimit([1, 2, 3], 2, async (n) => (n === 2 ? Promise.reject(new Error('two')) : n))).rejects.toThrow('two');
  });
});
