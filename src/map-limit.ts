/**
 * Bounded concurrency: `limit` lanes take items in order. Deterministic (no timers, no randomness), so the
 * workflows use it as well as the activities; lane i starts with item i, as the workflows always did.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(Math.max(1, Math.floor(limit) || 1), items.length) }, lane));
  return results;
}
