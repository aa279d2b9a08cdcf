/**
 * Failure classification shared by providers and activities.
 * Permanent: never retried. Transient: retried with backoff, honouring retryAfterMs when set.
 */

export class PermanentError extends Error {
  readonly kind = 'permanent' as const;
  constructor(
    message: string,
    readonly code = 'permanent',
  ) {
    super(message);
    this.name = 'PermanentError';
  }
}

export class TransientError extends Error {
  readonly kind = 'transient' as const;
  constructor(
    message: string,
    readonly retryAfterMs?: number,
    readonly code = 'transient',
  ) {
    super(message);
    this.name = 'TransientError';
  }
}

export class SandboxViolation extends PermanentError {
  constructor(
    readonly job: string,
    readonly attempted: string,
    readonly allowed: string[],
  ) {
    super(
      `job ${job} attempted capability "${attempted}", which it did not declare (allowed: ${allowed.join(', ') || 'none'})`,
      'sandbox_violation',
    );
    this.name = 'SandboxViolation';
  }
}

/** A thrown value that is neither class is treated as transient: an unknown failure may pass. */
export function isPermanent(err: unknown): boolean {
  return err instanceof PermanentError;
}
