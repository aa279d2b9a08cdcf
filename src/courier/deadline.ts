/**
 * When an activity attempt's sends must be over: its start plus its start-to-close timeout. After that
 * Temporal retries it (there is no heartbeat timeout), and the retry must find every send of this attempt
 * finished and in the sent-ledger, so the courier bounds each send by this deadline.
 *
 * Activity Info has no start time (only when the attempt was *scheduled*, which can be long before under a
 * backlog), so the worker notes when it starts each attempt: `attemptClock` is an activity interceptor
 * factory, called once per attempt as its Context is created.
 */
import { Context } from '@temporalio/activity';
import type { ActivityInterceptors } from '@temporalio/worker';

const startedAt = new WeakMap<Context, number>();

export function attemptClock(ctx: Context): ActivityInterceptors {
  startedAt.set(ctx, Date.now());
  return {};
}

/** Without an activity context (a provider called directly), one send may take this long. */
const OUTSIDE_ACTIVITY_MS = 60_000;

export function attemptDeadline(now: number = Date.now()): number {
  let ctx: Context;
  try {
    ctx = Context.current();
  } catch {
    return now + OUTSIDE_ACTIVITY_MS;
  }
  const timeout = ctx.info.startToCloseTimeoutMs;
  if (!(timeout > 0)) return now + OUTSIDE_ACTIVITY_MS;
  // A worker without the interceptor: counting from now errs late by the time the activity ran before this send.
  return (startedAt.get(ctx) ?? now) + timeout;
}
