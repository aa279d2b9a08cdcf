/**
 * Backoff, in two shapes: a job's next attempt (backoffMs) and a reconnect loop's next try (backoffDelay).
 *
 * backoffMs, the delay before a job's next attempt: attempt² seconds plus up to 25% jitter, at most 5 minutes.
 * A server's Retry-After replaces the computed base; jitter only ever adds to it, so the retry never
 * comes earlier than the server asked. The jitter spreads retries of jobs that failed together.
 */

export const MAX_BACKOFF_MS = 5 * 60 * 1000;
const JITTER = 0.25;

export interface BackoffOptions {
  /** from Retry-After (or another hint of the failed service) */
  retryAfterMs?: number;
  /** in [0, 1); injectable for deterministic tests */
  random?: () => number;
}

/** @param attempt the 1-based attempt that just failed */
export function backoffMs(attempt: number, opts: BackoffOptions = {}): number {
  const n = Number.isFinite(attempt) ? Math.max(1, Math.floor(attempt)) : 1;
  const hint = opts.retryAfterMs;
  const base =
    hint !== undefined && Number.isFinite(hint) && hint >= 0 ? Math.min(hint, MAX_BACKOFF_MS) : Math.min(n * n * 1000, MAX_BACKOFF_MS);
  const r = Math.min(Math.max((opts.random ?? Math.random)(), 0), 1);
  return Math.min(Math.round(base + base * JITTER * r), MAX_BACKOFF_MS);
}

/** A reconnect loop's next try (the relay's LISTEN): capped exponential backoff with full jitter: a random delay in [cap/2, cap] of base·2^attempt, at most max. */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(cap / 2 + random() * (cap / 2));
}
