/** The relay's retry delay for a row Temporal did not take. */
import { backoffDelay } from '../../../src/retry/backoff';

describe('backoffDelay', () => {
  it('doubles with each attempt, between half the cap and the cap', () => {
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, 100, 60_000, () => 0))).toEqual([50, 100, 200, 400]);
    expect([0, 1, 2, 3].map((a) => backoffDelay(a, 100, 60_000, () => 1))).toEqual([100, 200, 400, 800]);
    expect(backoffDelay(2, 100, 60_000, () => 0.5)).toBe(300);
  });

  it('never exceeds the maximum, however many attempts', () => {
    expect(backoffDelay(10, 100, 5000, () => 1)).toBe(5000);
    expect(backoffDelay(10, 100, 5000, () => 0)).toBe(2500);
    expect(backoffDelay(1e6, 100, 5000, () => 1)).toBe(5000);
  });

  it('spreads with the random source (full jitter over the upper half)', () => {
    const delays = Array.from({ length: 200 }, () => backoffDelay(4, 100, 60_000));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(800);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1600);
    expect(new Set(delays).size).toBeGreaterThan(10);
  });
});
