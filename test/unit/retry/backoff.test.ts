import { backoffMs, MAX_BACKOFF_MS } from '../../../src/retry/backoff';

const low = () => 0;
const high = () => 0.999999;

test.each([
  [1, 1000],
  [2, 4000],
  [3, 9000],
  [5, 25_000],
  [10, 100_000],
  [17, 289_000],
])('attempt %i waits attempt² seconds plus up to 25%%', (attempt, base) => {
  expect(backoffMs(attempt, { random: low })).toBe(base);
  expect(backoffMs(attempt, { random: () => 0.5 })).toBe(Math.min(base * 1.125, MAX_BACKOFF_MS));
  const most = backoffMs(attempt, { random: high });
  expect(most).toBeGreaterThan(base);
  expect(most).toBeLessThanOrEqual(Math.min(base * 1.25, MAX_BACKOFF_MS));
});

test('never more than 5 minutes', () => {
  for (const attempt of [18, 20, 100, 1e6]) {
    expect(backoffMs(attempt, { random: low })).toBe(MAX_BACKOFF_MS);
    expect(backoffMs(attempt, { random: high })).toBe(MAX_BACKOFF_MS);
  }
});

test('Retry-After replaces the computed base, only ever adds jitter, and is capped too', () => {
  expect(backoffMs(1, { retryAfterMs: 30_000, random: low })).toBe(30_000);
  expect(backoffMs(1, { retryAfterMs: 30_000, random: high })).toBeLessThanOrEqual(37_500);
  expect(backoffMs(9, { retryAfterMs: 2_000, random: low })).toBe(2_000);
  expect(backoffMs(1, { retryAfterMs: 0, random: high })).toBe(0);
  expect(backoffMs(1, { retryAfterMs: 3_600_000, random: low })).toBe(MAX_BACKOFF_MS);
});

test('nonsense inputs fall back to sane values', () => {
  expect(backoffMs(0, { random: low })).toBe(1000);
  expect(backoffMs(-3, { random: low })).toBe(1000);
  expect(backoffMs(Number.NaN, { random: low })).toBe(1000);
  expect(backoffMs(2, { retryAfterMs: -5, random: low })).toBe(4000);
  expect(backoffMs(2, { retryAfterMs: Number.NaN, random: low })).toBe(4000);
});

test('the default random stays within bounds', () => {
  for (let i = 0; i < 200; i++) {
    const d = backoffMs(3);
    expect(d).toBeGreaterThanOrEqual(9000);
    expect(d).toBeLessThanOrEqual(11_250);
  }
});
