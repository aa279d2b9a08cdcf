/**
 * JSON-lines logger. Events are named `noun.verb` (job.completed, hook.matched).
 * Callers pass ids, names and errors only: never secrets, record bodies or addresses.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(event: string, fields?: Record<string, unknown>): void;
  info(event: string, fields?: Record<string, unknown>): void;
  warn(event: string, fields?: Record<string, unknown>): void;
  error(event: string, fields?: Record<string, unknown>): void;
}

export type LogSink = (line: string) => void;

export function createLogger(options: { level?: LogLevel; sink?: LogSink; base?: Record<string, unknown> } = {}): Logger {
  const min = ORDER[options.level ?? ((process.env.FORGE_LOG_LEVEL as LogLevel) || 'info')] ?? ORDER.info;
  const sink = options.sink ?? ((line: string) => process.stderr.write(line + '\n'));
  const write =
    (level: LogLevel) =>
    (event: string, fields: Record<string, unknown> = {}) => {
      if (ORDER[level] < min) return;
      sink(JSON.stringify({ time: new Date().toISOString(), level, event, ...options.base, ...fields }, errorReplacer));
    };
  return { debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error') };
}

function errorReplacer(_key: string, value: unknown): unknown {
  return value instanceof Error ? value.message : value;
}

/** For tests: a logger that keeps its records. */
export function createMemoryLogger(): Logger & { records: Array<Record<string, unknown>> } {
  const records: Array<Record<string, unknown>> = [];
  const logger = createLogger({ level: 'debug', sink: (line) => records.push(JSON.parse(line)) });
  return Object.assign(logger, { records });
}
