/**
 * Supervising a server we start in a child process (the Temporal dev server, the cluster's server, the
 * embedded Postgres runner): its recent output, its exit, and waiting for it to be ready while it may die.
 * Stopping its process tree is ./process-tree.ts, free ports ./ports.ts.
 */
import type { ChildProcess } from 'node:child_process';

/** The last lines a child printed, each also handed to `onLine` as it comes. */
export interface LogRing {
  /** a chunk of output: split into lines, blank ones dropped */
  add(chunk: Buffer | string): void;
  /** one line as it is */
  addLine(line: string): void;
  lines(): string[];
}

export function logRing(size: number, onLine: (line: string) => void = () => undefined): LogRing {
  const kept: string[] = [];
  const addLine = (line: string) => {
    kept.push(line);
    if (kept.length > size) kept.shift();
    onLine(line);
  };
  return {
    add(chunk) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) addLine(line);
    },
    addLine,
    lines: () => [...kept],
  };
}

/** Resolves when the child has exited (at once when it already has). */
export function exitOf(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => child.once('exit', () => resolve()));
}

export interface ReadinessOptions<T> {
  /** resolves once the server answers; `signal` aborts when the child has died, so a polling loop can stop */
  ready(signal: AbortSignal): Promise<T>;
  /** the error to reject with when the child exits before it is ready */
  exited(code: number | null, signal: NodeJS.Signals | null): Error | Promise<Error>;
  /** the error to reject with when the child could not be run at all */
  failed(error: Error): Error;
  /** stops the child after a failed start, before the error is thrown */
  stop(): Promise<void>;
}

/**
 * Waits for the child to be ready, racing its death: an exit or spawn error before readiness rejects with
 * the caller's error (and aborts `ready`'s signal), and any failure stops the child before it is thrown.
 */
export async function untilReady<T>(child: ChildProcess, options: ReadinessOptions<T>): Promise<T> {
  const gaveUp = new AbortController();
  const died = new Promise<never>((_resolve, reject) => {
    child.once('error', (error) => reject(options.failed(error)));
    child.once('exit', (code, signal) => {
      void Promise.resolve(options.exited(code, signal)).then(reject, reject);
    });
  });
  died.catch(() => gaveUp.abort()); // observed by the race below; keeps a later death from being unhandled
  try {
    return await Promise.race([options.ready(gaveUp.signal), died]);
  } catch (error) {
    await options.stop();
    throw error;
  }
}
