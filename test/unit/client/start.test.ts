/** The request path's bounds on Temporal: the start deadline and the breaker that skips a Temporal known to be away. */
import { createStartBreaker, isTemporalUnavailable, StartDeadlineError, withinDeadline } from '../../../src/client/start';

test('withinDeadline settles at the deadline and aborts the start', async () => {
  let aborted = false;
  const t0 = Date.now();
  const err = await withinDeadline(
    50,
    (signal) => new Promise((resolve) => signal.addEventListener('abort', () => ((aborted = true), resolve(undefined)))),
  ).catch((e) => e);
  expect(err).toBeInstanceOf(StartDeadlineError);
  expect(Date.now() - t0).toBeLessThan(500);
  expect(aborted).toBe(true);
  expect(isTemporalUnavailable(err)).toBe(true);
  await expect(withinDeadline(1000, async () => 'ok')).resolves.toBe('ok');
});

test('a call given up at its deadline is handed over to be waited for; one in time is not', async () => {
  const overdue: Promise<unknown>[] = [];
  let finish: (value: string) => void = () => undefined;
  const late = new Promise<string>((resolve) => (finish = resolve));
  await expect(
    withinDeadline(
      20,
      () => late,
      (call) => overdue.push(call),
    ),
  ).rejects.toBeInstanceOf(StartDeadlineError);
  expect(overdue).toHaveLength(1);
  finish('settled after the deadline');
  await expect(overdue[0]).resolves.toBe('settled after the deadline');
  await withinDeadline(
    1000,
    async () => 'ok',
    (call) => overdue.push(call),
  );
  expect(overdue).toHaveLength(1);
});

test('a refusal is not unavailability; an unreachable server is', () => {
  expect(isTemporalUnavailable(Object.assign(new Error('Namespace not found'), { code: 5 }))).toBe(false);
  expect(isTemporalUnavailable(new Error('Failed to connect before the deadline'))).toBe(true);
  expect(isTemporalUnavailable(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: 14 }) }))).toBe(true);
});

test('the breaker opens on unavailability, probes in the background (not on a request), and closes when Temporal answers', async () => {
  jest.useFakeTimers();
  try {
    let answers = false;
    let probes = 0;
    const breaker = createStartBreaker({
      baseMs: 1000,
      maxMs: 4000,
      probe: async () => {
        probes++;
        if (!answers) throw new Error('down');
      },
    });
    expect(breaker.shouldTry()).toBe(true);
    breaker.record('unavailable');
    expect(breaker.shouldTry()).toBe(false);
    await jest.advanceTimersByTimeAsync(1000);
    expect(probes).toBe(1);
    expect(breaker.shouldTry()).toBe(false); // still away: next probe after 2 s
    await jest.advanceTimersByTimeAsync(1999);
    expect(probes).toBe(1);
    answers = true;
    await jest.advanceTimersByTimeAsync(1);
    expect(probes).toBe(2);
    expect(breaker.shouldTry()).toBe(true);
    breaker.record('refused'); // an answer, not unavailability: stays closed
    expect(breaker.shouldTry()).toBe(true);
  } finally {
    jest.useRealTimers();
  }
});
