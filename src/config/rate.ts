/** `rate = "14/s"`: the most sends per period, across every worker of a task queue. */
export interface Rate {
  /** as written, for messages and stats */
  text: string;
  perSecond: number;
}

const UNITS: Record<string, number> = { s: 1, sec: 1, second: 1, m: 60, min: 60, minute: 60, h: 3600, hour: 3600 };
const RATE = /^\s*(\d+(?:\.\d+)?)\s*\/\s*([a-z]+)\s*$/i;

/** The rate, or the reason it is not one. */
export function parseRate(value: unknown): Rate | { problem: string } {
  const hint = 'expected a rate such as "14/s" or "600/min"';
  if (typeof value !== 'string') return { problem: `${hint}, got ${typeof value === 'number' ? `the number ${value}` : typeof value}` };
  const match = RATE.exec(value);
  const seconds = match ? UNITS[match[2].toLowerCase()] : undefined;
  if (!match || seconds === undefined) return { problem: `${hint}, got ${JSON.stringify(value)}` };
  const count = Number(match[1]);
  if (!(count > 0)) return { problem: `must be more than 0 per period, got ${JSON.stringify(value)}` };
  return { text: value.trim(), perSecond: count / seconds };
}
