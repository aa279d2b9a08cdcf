/**
 * A circuit breaker in front of one provider (email: one SMTP relay for every target).
 *
 * A relay that defers everything (451 to every RCPT, or not answering at all) for an hour would otherwise be
 * asked once per target and attempt: 100,000 targets × 3 attempts of full SMTP exchanges, each of which can
 * only fail the same way. After `threshold` transient failures in a row with no success between them the
 * breaker opens: sends fail at once with the same transient failure (they count as attempts, as the relay's
 * own deferral would), except one probe every `probeEveryMs` that goes to the relay. Sends that arrive while
 * the probe is out wait for its answer; its success closes the breaker and lets them through. A success, or a permanent failure (the relay answered about that message), resets the
 * count: a relay that refuses some recipients is up.
 */
import type { EffectRequest } from '../effects/types';
import { isPermanent, TransientError } from '../errors';
import type { Provider } from './types';

export interface BreakerOptions {
  /** transient failures in a row that open the breaker */
  threshold: number;
  /** while open, one send in this many ms goes through as a probe */
  probeEveryMs: number;
  /** the clock (tests pass their own) */
  now?: () => number;
  /** told once when the breaker opens (with the failures and the last one) and once when a probe closes it */
  onChange?: (change: { open: true; failures: number; lastFailure: string } | { open: false }) => void;
}

export const DEFAULT_BREAKER: BreakerOptions = { threshold: 20, probeEveryMs: 100 };

export function withBreaker(provider: Provider, options: BreakerOptions = DEFAULT_BREAKER): Provider {
  const now = options.now ?? Date.now;
  let failures = 0;
  let lastFailure = '';
  let probeAt = 0;
  /** the probe in flight: resolves true when the relay answered it (accepted, or refused that one message) */
  let probe: Promise<boolean> | null = null;

  const open = () => failures >= options.threshold;
  /** the relay answered (accepted, or refused this one message): it is up */
  const answered = () => {
    if (open()) options.onChange?.({ open: false });
    failures = 0;
  };

  function refuse(request: EffectRequest): never {
    throw new TransientError(
      `${request.capability}: not tried, the provider failed the last ${failures} sends in a row (last: ${lastFailure}); it is probed every ${options.probeEveryMs} ms`,
      undefined,
      'provider_failing',
    );
  }

  async function send(request: EffectRequest, ctx: Parameters<Provider['execute']>[1]) {
    try {
      const result = await provider.execute(request, ctx);
      answered();
      return result;
    } catch (err) {
      if (isPermanent(err)) answered();
      else {
        failures++;
        lastFailure = err instanceof Error ? err.message : String(err);
        if (failures === options.threshold) {
          probeAt = now() + options.probeEveryMs;
          options.onChange?.({ open: true, failures, lastFailure });
        }
      }
      throw err;
    }
  }

  return {
    ...provider,
    async execute(request, ctx) {
      if (!open()) return send(request, ctx);
      // A send that arrives while the probe is out waits for its answer instead of being refused: when the relay
      // comes back, the retries that meet its probe must not spend an attempt on a refusal.
      if (probe) {
        if (!(await probe)) refuse(request);
        return send(request, ctx);
      }
      if (now() < probeAt) refuse(request);
      probeAt = now() + options.probeEveryMs;
      const sent = send(request, ctx);
      probe = sent.then(
        () => true,
        (err: unknown) => isPermanent(err),
      );
      try {
        return await sent;
      } finally {
        probe = null;
      }
    },
  };
}
