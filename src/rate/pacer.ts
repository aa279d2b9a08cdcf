/**
 * The server's rate limit is a token bucket holding a second's worth of tasks: after an idle moment a whole
 * second of sends could go out at once, on top of the next second's. Each worker therefore also spaces its
 * own sends of a lane at workers / rate, counting the workers that poll the lane, so the lane's sends stay
 * even across a second while the server keeps the total. A worker that joins is counted within seconds (until
 * then the server's limit still holds the total); one that stopped counts for a while, and the others send
 * a little slower.
 */
import type { NativeConnection } from '@temporalio/worker';
import { TASK_QUEUE_TYPE } from '../names';

export interface Pacer {
  /** resolves when this worker may make its next send of the lane, with the function that says it ended */
  take(): Promise<() => void>;
}

/** a poller seen this recently is working the lane (an idle worker's long poll renews every minute) */
const POLLER_FRESH_MS = 90_000;
const REFRESH_MS = 3_000;
/** Sends are spaced a little wider than the rate: a provider counts at acceptance, not at our start. */
const SPACING_MARGIN = 1.02;
/** sends of one lane in flight in one worker: what a tenth of a second of its share of the rate holds */
const IN_FLIGHT_SECONDS = 0.1;

/**
 * Starts are at least `spacing` apart, counted from when a send really starts, and a slow send (a new
 * connection, a provider pausing) holds back the next ones instead of letting them pile up and arrive
 * together.
 */
export function createPacer(perSecond: number, workers: () => number): Pacer {
  const waiting: Array<() => void> = [];
  let lastStart = -Infinity;
  let inFlight = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const pump = () => {
    if (timer || waiting.length === 0) return;
    const share = perSecond / Math.max(1, workers());
    if (inFlight >= Math.max(1, Math.floor(share * IN_FLIGHT_SECONDS))) return;
    // `at` stays fractional: rounding each spacing to whole milliseconds would cut a fast lane's rate
    const at = Math.max(Date.now(), lastStart + (SPACING_MARGIN * 1000) / share);
    timer = setTimeout(
      () => {
        timer = undefined;
        if (inFlight >= Math.max(1, Math.floor(share * IN_FLIGHT_SECONDS))) return pump();
        lastStart = at;
        inFlight++;
        waiting.shift()?.();
        pump();
      },
      Math.max(0, Math.ceil(at - Date.now())),
    );
  };

  return {
    take() {
      return new Promise((resolve) => {
        let released = false;
        waiting.push(() =>
          resolve(() => {
            if (released) return;
            released = true;
            inFlight--;
            pump();
          }),
        );
        pump();
      });
    },
  };
}

/** The number of workers polling a lane, kept fresh in the background. */
export function watchLaneWorkers(
  connection: NativeConnection,
  namespace: string,
  taskQueue: string,
  on: { error: (err: Error) => void; change: (workers: number) => void },
): { count: () => number; stop: () => void } {
  let count = 1;
  let stopped = false;
  const refresh = async () => {
    try {
      const response = await connection.workflowService.describeTaskQueue({
        namespace,
        taskQueue: { name: taskQueue },
        taskQueueType: TASK_QUEUE_TYPE.activity,
      });
      const now = Date.now();
      const fresh = new Set(
        (response.pollers ?? [])
          .filter((p) => p.identity && (!p.lastAccessTime?.seconds || now - Number(p.lastAccessTime.seconds) * 1000 < POLLER_FRESH_MS))
          .map((p) => p.identity),
      );
      const seen = Math.max(1, fresh.size);
      if (seen !== count) on.change(seen);
      count = seen;
    } catch (err) {
      on.error(err as Error);
    }
  };
  void refresh();
  const timer = setInterval(() => {
    if (!stopped) void refresh();
  }, REFRESH_MS);
  timer.unref();
  return {
    count: () => count,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
