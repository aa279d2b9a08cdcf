/**
 * The one way a workflow is started: within a deadline, whatever Temporal's state. The SDK retries an
 * unavailable server for many seconds; the request path must not wait that long, so the call (connecting
 * included) is raced against the deadline and cancelled when it passes. What then happens to the event is
 * the caller's: the outbox (afterCommit, withTransaction) or the row's next claim (the relay).
 */
import { isGrpcServiceError } from '@temporalio/client';
import { GRPC_STATUS } from '../names';

export const DEFAULT_START_DEADLINE_MS = 500;

/** Temporal did not accept the start within the deadline (down, unreachable, overloaded). */
export class StartDeadlineError extends Error {
  constructor(readonly deadlineMs: number) {
    super(`Temporal did not accept the start within ${deadlineMs} ms`);
    this.name = 'StartDeadlineError';
  }
}

/**
 * Runs `start(signal)` and settles within `deadlineMs`: with its value or error, or with StartDeadlineError,
 * aborting `signal` so the SDK stops retrying in the background. A call given up at its deadline may still
 * settle later (the SDK's retry of it is already scheduled); `onOverdue` is handed it then.
 */
export async function withinDeadline<T>(
  deadlineMs: number,
  start: (signal: AbortSignal) => Promise<T>,
  onOverdue?: (call: Promise<unknown>) => void,
): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const started = start(controller.signal);
  started.catch(() => undefined); // settled after the deadline: the caller has moved on
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new StartDeadlineError(deadlineMs));
      controller.abort();
      onOverdue?.(started);
    }, deadlineMs);
  });
  try {
    return await Promise.race([started, expired]);
  } finally {
    clearTimeout(timer);
  }
}

// gRPC status codes meaning "not now" rather than "no": CANCELLED, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, UNAVAILABLE.
const TRANSIENT_CODES = new Set<number>([
  GRPC_STATUS.CANCELLED,
  GRPC_STATUS.DEADLINE_EXCEEDED,
  GRPC_STATUS.RESOURCE_EXHAUSTED,
  GRPC_STATUS.UNAVAILABLE,
]);

/**
 * Whether a failed start says Temporal could not be reached or did not answer in time (try again later, no
 * attempt counted) rather than that it refused this start (an attempt counted toward parking the row).
 */
export function isTemporalUnavailable(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e && depth < 8; e = (e as { cause?: unknown }).cause, depth++) {
    if (e instanceof StartDeadlineError) return true;
    if (isGrpcServiceError(e)) return TRANSIENT_CODES.has(e.code);
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number' && TRANSIENT_CODES.has(code)) return true;
    const name = (e as Error).name;
    if (name === 'TransportError' || name === 'AbortError') return true;
    if (typeof code === 'string' && /^E(CONNREFUSED|CONNRESET|HOSTUNREACH|NETUNREACH|TIMEDOUT|PIPE)$|^ENOTFOUND$/.test(code)) return true;
    if (/Failed to connect|ECONNREFUSED|UNAVAILABLE|No connection established|deadline/i.test((e as Error).message ?? '')) return true;
  }
  return false;
}

/**
 * Whether the request path should try Temporal at all. After a start fails because Temporal is unavailable,
 * events go straight to the outbox without waiting, while a probe in the background (not a request) asks
 * Temporal again after 1 s, doubling up to 10 s; the first answer closes the breaker.
 */
export interface StartBreaker {
  /** true: try a start now; false: hand the event to the outbox at once */
  shouldTry(): boolean;
  /** what the tried starts of one event came to */
  record(outcome: 'started' | 'unavailable' | 'refused'): void;
  /** no more probes (the client is closing) */
  dispose(): void;
}

export function createStartBreaker(options: {
  /** asks Temporal whether it answers again (rejects when not); run in the background */
  probe: () => Promise<void>;
  baseMs?: number;
  maxMs?: number;
}): StartBreaker {
  const baseMs = options.baseMs ?? 1000;
  const maxMs = options.maxMs ?? 10_000;
  let backoffMs = 0;
  let timer: NodeJS.Timeout | undefined;
  const close = () => {
    backoffMs = 0;
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  const open = () => {
    backoffMs = Math.min(maxMs, Math.max(baseMs, backoffMs * 2));
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      options.probe().then(close, () => (backoffMs > 0 ? open() : undefined));
    }, backoffMs);
    timer.unref?.();
  };
  return {
    shouldTry: () => backoffMs === 0,
    record(outcome) {
      if (outcome === 'unavailable') {
        if (backoffMs === 0) open();
      } else close();
    },
    dispose: close,
  };
}
