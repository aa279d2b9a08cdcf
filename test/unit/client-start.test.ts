/** The request path's bounds on Temporal: the start deadline and the breaker that skips a Temporal known to be away. */
import { createStartBreaker, isTemporalUnavailable, StartDeadlineError, withinDeadline } from '../../src/client/start';

test('withinDeadline settles at the deadline and aborts the start', async () => {
  let aborted = false;
  const t0 = Date.now();
  const err = await withinDeadline(50, (signal) => new Promise((resolve) => signal.addEventListener('abort', () => ((aborted = true), resolve(undefined))))).catch((e) => e);
  expect(err).toBeInstanceOf(StartDeadlineError);
  expect(Date.now() - t0).toBeLessThan(500);
  expect(aborted).toBe(true);
  expect(isTemporalUnavailable(err)).toBe(true);
  await expect(withinDeadline(1000, async () => 'ok')).resolves.toBe('ok');
});

test('a refusal is not unavailability; an unreachable server is', () => {
  expect(isTemporalUnavailable(Object.assign(new Error('Namespace not found'), { code: 5 }))).toBe(false);
  expect(isTemporalUnavailable(new Error('Failed to connect before the deadline'))).toBe(true);
  expect(isTemporalUnavailable(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 14 }) }))).toBe(true);
});

test('the breaker opens on unavailability, lets one probe through after the window, and closes on an answer', () => {
  let now = 0;
  const breaker = createStartBreaker({ baseMs: 1000, maxMs: 4000, now: () => now });
  expect(breaker.shouldTry()).toBe(true);
  breaker.record('unavailable');
  expect(breaker.shouldTry()).toBe(false);
  now = 1000;
  expect(breaker.shouldTry()).toBe(true); // the probe
  expect(breaker.shouldTry()).toBe(false); // others wait for its answer
  breaker.record('unavailable');
  now = 2500;
  expect(breaker.shouldTry()).toBe(false); // doubled: 2 s
  now = 3000;
  expect(breaker.shouldTry()).toBe(true);
  breaker.record('refused'); // Temporal answered: reachable again
  expect(breaker.shouldTry()).toBe(true);
  expect(breaker.shouldTry()).toBe(true);
});
