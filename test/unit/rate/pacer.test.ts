import { createPacer } from '../../../src/rate/pacer';

beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
afterEach(() => jest.useRealTimers());

/** n sends through the pacer, each taking `sendMs`; the times they started, from the first call. */
async function send(pacer: ReturnType<typeof createPacer>, n: number, sendMs = 0): Promise<number[]> {
  const start = Date.now();
  const starts: number[] = [];
  const done = Array.from({ length: n }, async () => {
    const release = await pacer.take();
    starts.push(Date.now() - start);
    await new Promise((r) => setTimeout(r, sendMs));
    release();
  });
  await jest.runAllTimersAsync();
  await Promise.all(done);
  return starts;
}

test("spaces one worker's starts at workers / rate, a little wider, the first at once", async () => {
  expect(
    await send(
      createPacer(20, () => 2),
      4,
    ),
  ).toEqual([0, 102, 204, 306]);
  expect(
    await send(
      createPacer(20, () => 1),
      3,
    ),
  ).toEqual([0, 51, 102]);
});

test('a slow send holds back the next ones instead of letting them pile up', async () => {
  // 10/s for this worker: one send in flight at a time, the next a full spacing after it really started
  expect(
    await send(
      createPacer(10, () => 1),
      3,
      300,
    ),
  ).toEqual([0, 300, 600]);
  // 1000/s: 100 ms of the rate may be in flight, so slow sends do not cut the rate
  const fast = await send(
    createPacer(1000, () => 1),
    200,
    50,
  );
  expect(fast.length).toBe(200);
  expect(fast[199]).toBeLessThan(250);
});

test('an idle pacer does not save up sends for later', async () => {
  const pacer = createPacer(10, () => 1);
  await send(pacer, 2);
  jest.setSystemTime(Date.now() + 10_000);
  expect(await send(pacer, 2)).toEqual([0, 102]);
});
