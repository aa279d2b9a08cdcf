import { ConfigError, INLINE_SOURCE } from './errors';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
// Go-style, so "1m30s" written for the Forge runtime means the same here.
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const SECONDS = /^\d+(?:\.\d+)?$/;

/**
 * Milliseconds from a config duration: a number (seconds, as the roadmap's `[jobs] timeout = 30`),
 * a numeric string (what an `env:` value yields), or "500ms" / "30s" / "2m" / "1h" / "1m30s".
 * Throws a ConfigError naming `path`; 0 is allowed here, fields that need more check it.
 */
export function parseDuration(value: number | string, path: string): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return Math.round(value * 1000);
    throw durationError(path, `must be a non-negative number of seconds, got ${value}`);
  }
  const text = value.trim();
  if (SECONDS.test(text)) return Math.round(Number(text) * 1000);
  if (DURATION.test(text)) {
    let ms = 0;
    for (const [, amount, unit] of text.matchAll(PART)) ms += Number(amount) * UNIT_MS[unit];
    return Math.round(ms);
  }
  throw durationError(path, `invalid duration ${JSON.stringify(value)} (use seconds, or a number with ms, s, m or h, e.g. "30s")`);
}

function durationError(path: string, message: string): ConfigError {
  return new ConfigError(INLINE_SOURCE, [{ path, message }]);
}

/** A Date from a Date, an ISO time, or a duration back from now ("24h"). Throws one clear line otherwise. */
export function parseSince(since: Date | string, now = Date.now()): Date {
  if (since instanceof Date) {
    if (Number.isNaN(since.getTime())) throw new Error('since: invalid date');
    return since;
  }
  const text = since.trim();
  if (/^\d+(?:\.\d+)?(?:ms|s|m|h|d)$|^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(text)) {
    const days = /^(\d+(?:\.\d+)?)d$/.exec(text);
    const ms = days ? Number(days[1]) * 86_400_000 : parseDuration(text, 'since');
    return new Date(now - ms);
  }
  const date = new Date(text);
  if (/^\d{4}-\d{2}-\d{2}/.test(text) && !Number.isNaN(date.getTime())) return date;
  throw new Error(`since: expected an ISO time (2024-05-01T12:00:00Z) or a duration such as 30m, 24h, 7d; got ${JSON.stringify(since)}`);
}
