/** Percentiles and medians: every figure in results.json is the median over rounds of a per-round statistic. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank];
}

export const median = (values: number[]): number => percentile(values, 50);

export function round(value: number, digits = 2): number {
  if (!Number.isFinite(value)) return value;
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

/** The bench's clock is the sinks' clock, so acceptance times and start times compare. */
export { nowMs } from '../test/support/sinks';

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `n` async lanes that each pull work until `more()` says stop. */
export async function lanes(n: number, more: () => boolean, work: (lane: number) => Promise<void>): Promise<void> {
  await Promise.all(
    Array.from({ length: n }, async (_, lane) => {
      while (more()) await work(lane);
    }),
  );
}
