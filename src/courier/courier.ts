/**
 * The worker's side of the courier: forks ./child, hands it the email and HTTP sends, and gives back their
 * results and errors as if the providers had run here.
 *
 * Why a process of its own: the sent-ledger (src/activities/sent-ledger.ts) skips a re-send only once the
 * row is written, and a worker killed between a server's acceptance and that INSERT would send again on
 * the retry. No protocol closes that window inside one process; a courier that outlives the worker does.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Pool } from 'pg';
import type { RuntimeConfig } from '../config/types';
import type { EffectContext, EffectRequest, EffectResult } from '../effects/types';
import { PermanentError, TransientError } from '../errors';
import type { Logger } from '../log';
import { HTTP_CAPABILITIES } from '../providers/http';
import type { LookupFn } from '../providers/ssrf';
import type { Provider } from '../providers/types';
import { COURIER_V8_FLAGS } from '../v8-flags';
import { ledgerDatabase } from './database';
import { attemptDeadline } from './deadline';
import type { FromCourier, ToCourier } from './protocol';
import { fromWire, toWire } from './wire-error';

export interface CourierOptions {
  config: Pick<RuntimeConfig, 'email' | 'http'>;
  /** the worker's pool: the courier's own ledger pool is made from its settings */
  pool: Pool;
  /** the worker's DNS stub for the HTTP guard, if any: the courier asks for every lookup over IPC */
  lookup?: LookupFn;
  logger: Logger;
}

export interface Courier {
  /** a provider whose sends run in the courier, which also records them in the sent-ledger */
  provider(name: 'email' | 'http'): Provider;
  /** forks the courier now (a worker does, to fail at start rather than at its first send) */
  start(): Promise<void>;
  /** the running courier's pid, if one runs */
  pid(): number | undefined;
  /** lets the courier finish what it holds and waits for it to exit */
  close(): Promise<void>;
}

const READY_TIMEOUT_MS = 20_000;
/** A courier that does not exit this long after `close` (its sends are long over by then) is killed. */
const CLOSE_GRACE_MS = 15_000;

/**
 * From dist/ (the CLI, the bench, an installed package) the child is the compiled child.js beside this file.
 * From src/ (jest, the bench) it is child.ts through the TypeScript require hook the caller names in
 * FORGE_JOBS_TS_REGISTER, so parent and child always run the same source: a stale or missing dist/ cannot
 * answer for the child.
 */
function childEntry(): { script: string; execArgv: string[] } {
  if (__filename.endsWith('.ts')) {
    const hook = process.env.FORGE_JOBS_TS_REGISTER;
    if (!hook) throw new Error('the courier runs from TypeScript source: set FORGE_JOBS_TS_REGISTER to a require hook for .ts files');
    return { script: join(__dirname, 'child.ts'), execArgv: [...COURIER_V8_FLAGS, '-r', hook] };
  }
  return { script: join(__dirname, 'child.js'), execArgv: [...COURIER_V8_FLAGS] };
}

interface Pending {
  proc: ChildProcess;
  resolve: (result: EffectResult) => void;
  reject: (err: Error) => void;
}

export function createCourier(options: CourierOptions): Courier {
  const { logger } = options;
  let child: ChildProcess | undefined;
  let starting: Promise<ChildProcess> | undefined;
  let closed = false;
  const pending = new Map<number, Pending>();
  let nextId = 1;

  function take(id: number): Pending | undefined {
    const entry = pending.get(id);
    pending.delete(id);
    // The channel holds the worker's event loop only while a send waits on it.
    if (pending.size === 0) entry?.proc.channel?.unref();
    return entry;
  }

  function onMessage(proc: ChildProcess, message: FromCourier): void {
    switch (message.type) {
      case 'result':
        take(message.id)?.resolve(message.result);
        break;
      case 'error':
        take(message.id)?.reject(fromWire(message.error));
        break;
      case 'log':
        logger[message.level](message.event, message.fields);
        break;
      case 'lookup': {
        const reply = (answer: Omit<Extract<ToCourier, { type: 'lookup-result' }>, 'type' | 'id'>) => {
          if (proc.connected) proc.send({ type: 'lookup-result', id: message.id, ...answer } satisfies ToCourier, () => undefined);
        };
        Promise.resolve()
          .then(() => options.lookup!(message.hostname))
          .then(
            (addresses) => reply({ addresses }),
            (err) => reply({ error: toWire(err) }),
          );
        break;
      }
    }
  }

  function onExit(proc: ChildProcess, code: number | null, signal: NodeJS.Signals | null): void {
    if (child === proc) child = undefined;
    const lost = [...pending].filter(([, p]) => p.proc === proc);
    for (const [id] of lost) {
      // Transient: the retry looks in the sent-ledger first, so a send the courier finished is not repeated.
      take(id)?.reject(
        new TransientError(`the courier process exited (${signal ?? `code ${code}`}) during the send`, undefined, 'courier_lost'),
      );
    }
    // A courier that died is started again by the next send.
    if (!closed) logger.warn('courier.exited', { pid: proc.pid, code, signal, in_flight: lost.length });
  }

  async function spawnChild(): Promise<ChildProcess> {
    const { script, execArgv } = childEntry();
    if (!existsSync(script)) throw new Error(`the courier's entry ${script} is missing: run \`npm run build\`, or pass courier: false`);
    const database = await ledgerDatabase(options.pool);
    // Its own process group (detached), so a kill of the worker's group leaves it to finish its sends.
    // The environment is this process's (named, so a test's changes to it count too); secrets (SMTP and
    // database passwords) go over IPC, never to a log.
    const proc = fork(script, [], {
      detached: true,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
      execArgv,
      env: process.env,
    });
    // The worker's own life decides when it exits; the courier follows it (IPC disconnect).
    proc.unref();
    proc.channel?.unref();
    let markReady: () => void = () => undefined;
    let markFailed: (err: Error) => void = () => undefined;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      markFailed = reject;
    });
    proc.on('message', (message: FromCourier) => (message.type === 'ready' ? markReady() : onMessage(proc, message)));
    proc.on('error', (err) => logger.warn('courier.error', { pid: proc.pid, error: err.message }));
    proc.once('exit', (code, signal) => {
      markFailed(new Error(`the courier exited (${signal ?? `code ${code}`}) before it was ready`));
      onExit(proc, code, signal);
    });
    const timer = setTimeout(() => markFailed(new Error(`the courier was not ready within ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
    proc.send({
      type: 'init',
      email: options.config.email,
      http: options.config.http,
      database,
      lookupFromParent: options.lookup !== undefined,
    } satisfies ToCourier);
    try {
      await ready;
    } catch (err) {
      proc.kill('SIGKILL');
      throw err;
    } finally {
      clearTimeout(timer);
    }
    logger.info('courier.started', { pid: proc.pid });
    return proc;
  }

  function running(): Promise<ChildProcess> {
    if (closed) return Promise.reject(new Error('the courier is closed'));
    if (child) return Promise.resolve(child);
    starting ??= spawnChild()
      .then((proc) => {
        child = proc;
        return proc;
      })
      .finally(() => (starting = undefined));
    return starting;
  }

  async function send(request: EffectRequest, ctx: EffectContext, deadline: number): Promise<EffectResult> {
    let proc: ChildProcess;
    try {
      proc = await running();
    } catch (err) {
      throw new TransientError(
        `${request.capability}: the courier is not available: ${(err as Error).message}`,
        undefined,
        'courier_unavailable',
      );
    }
    return new Promise<EffectResult>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { proc, resolve, reject });
      proc.channel?.ref();
      const message: ToCourier = { type: 'send', id, capability: request.capability, request, ctx, deadline };
      try {
        proc.send(message, (err) => {
          // Not written to the channel, so not sent: the retry may send it.
          if (err)
            take(id)?.reject(
              new TransientError(`${request.capability}: the courier is not available: ${err.message}`, undefined, 'courier_unavailable'),
            );
        });
      } catch (err) {
        // Structured clone refused the request (a function in it, say): sending it again cannot help.
        take(id)?.reject(
          new PermanentError(
            `${request.capability}: the request cannot be passed to the courier: ${(err as Error).message}`,
            'courier_unserialisable',
          ),
        );
      }
    });
  }

  return {
    provider(name) {
      return {
        name,
        capabilities: name === 'email' ? ['email.send'] : HTTP_CAPABILITIES,
        recordsSent: true,
        execute: (request, ctx) => send(request, ctx, attemptDeadline()),
      };
    },
    async start() {
      await running();
    },
    pid: () => child?.pid,
    async close() {
      closed = true;
      const proc = child ?? (await starting?.catch(() => undefined));
      child = undefined;
      if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
      // Sends still in flight are answered before it exits; nothing new reaches it after this.
      if (proc.connected) proc.send({ type: 'close' } satisfies ToCourier, () => undefined);
      else proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), CLOSE_GRACE_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
