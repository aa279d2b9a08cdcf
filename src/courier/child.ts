/**
 * The courier process (forked by ./courier.ts): performs the sends that cannot be taken back (email, HTTP)
 * and writes their sent-ledger row, so that a worker killed while they are in flight leaves them to finish
 * and be recorded; Temporal's retry of the lost attempt then finds the row and skips the send.
 *
 * It runs in a process group of its own, so a kill of the worker's group does not reach it either. When the
 * worker goes away (the IPC channel disconnects) it accepts nothing new, finishes what it holds, records it,
 * and exits. It imports only what sending needs: its memory is the price of every worker.
 */
// First, so that it applies before undici's WebAssembly is compiled.
import './wasm-baseline';
import type { Pool } from 'pg';
import type { EffectResult } from '../effects/types';
import { PermanentError, TransientError } from '../errors';
import { createLogger, type Logger, type LogLevel } from '../log';
import { createPool } from '../postgres/pool';
import { createEmailProvider } from '../providers/email';
import { createHttpProvider } from '../providers/http';
import type { LookupFn, ResolvedAddress } from '../providers/ssrf';
import type { Provider } from '../providers/types';
import { createSentLedgerWriter, type SentLedgerWriter } from './ledger-writer';
import type { FromCourier, ToCourier } from './protocol';
import { fromWire, toWire } from './wire-error';

type Init = Extract<ToCourier, { type: 'init' }>;
type Send = Extract<ToCourier, { type: 'send' }>;

/** How long past the latest deadline a drain may wait for a send that ignores it (an SMTP send is not aborted). */
const DRAIN_GRACE_MS = 10_000;
const LEDGER_POOL_SIZE = 5;

// A log pipe closed by whoever read the worker's output must not take in-flight sends down with an EPIPE.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

const local = createLogger({ base: { courier_pid: process.pid } });
let providers: Map<string, Provider> | undefined;
let pool: Pool | undefined;
let ledger: SentLedgerWriter | undefined;
let accepting = true;
let latestDeadline = 0;
const inFlight = new Set<Promise<unknown>>();
const lookups = new Map<number, { resolve: (a: ResolvedAddress[]) => void; reject: (e: Error) => void }>();
let nextLookup = 1;

/** Messages written to the channel but not yet flushed: exiting before they are would drop a reply. */
const unflushed = new Set<Promise<void>>();

/** Sends to the worker; false when it is gone (or going), so the caller can say it locally instead. */
function post(message: FromCourier): boolean {
  if (!process.connected || !process.send) return false;
  // With a callback, a send that fails as the channel closes is reported here rather than thrown at the process.
  const flushed = new Promise<void>((resolve) => process.send!(message, undefined, {}, () => resolve()));
  unflushed.add(flushed);
  void flushed.then(() => unflushed.delete(flushed));
  return true;
}

/** While the worker is there its logger (and level) decides; after, JSON lines on the inherited stderr. */
function log(level: LogLevel, event: string, fields: Record<string, unknown> = {}): void {
  if (!post({ type: 'log', level, event, fields })) local[level](event, fields);
}
const logger: Logger = {
  debug: (event, fields) => log('debug', event, fields),
  info: (event, fields) => log('info', event, fields),
  warn: (event, fields) => log('warn', event, fields),
  error: (event, fields) => log('error', event, fields),
};

/** The worker's DNS stub, asked over IPC; the address guard still decides here, before this process connects. */
const lookupFromParent: LookupFn = (hostname) =>
  new Promise((resolve, reject) => {
    const id = nextLookup++;
    lookups.set(id, { resolve, reject });
    if (!post({ type: 'lookup', id, hostname })) {
      lookups.delete(id);
      reject(Object.assign(new Error(`DNS lookup of ${hostname}: the worker that resolves names is gone`), { code: 'EAI_AGAIN' }));
    }
  });

function init(message: Init): void {
  pool = createPool({ ...(message.database as Record<string, unknown>), max: LEDGER_POOL_SIZE }, (err) =>
    log('warn', 'database.connection_lost', { component: 'courier', error: err.message }),
  );
  ledger = createSentLedgerWriter(pool, logger);
  const senders = [
    ...(message.email ? [createEmailProvider(message.email)] : []),
    createHttpProvider(message.http, { lookup: message.lookupFromParent ? lookupFromParent : undefined }),
  ];
  providers = new Map(senders.flatMap((p) => p.capabilities.map((c) => [c, p] as const)));
  post({ type: 'ready', pid: process.pid });
}

async function deliver(message: Send): Promise<EffectResult> {
  const provider = providers?.get(message.capability);
  if (!provider || !ledger) throw new PermanentError(`the courier does not serve ${message.capability}`);
  if (Date.now() >= message.deadline) {
    throw new TransientError(`${message.capability}: the attempt's deadline passed before the send started`, undefined, 'timeout');
  }
  const result = await provider.execute(message.request, { ...message.ctx, deadline: message.deadline });
  // Before the reply: a worker that dies from here on leaves nothing for its retry to send again.
  await ledger.record(message.ctx.idempotencyKey, { job_id: message.ctx.workflowId, name: message.ctx.job });
  return result;
}

function onSend(message: Send): void {
  const { id, capability, ctx, deadline } = message;
  if (!accepting) {
    post({ type: 'error', id, error: toWire(new TransientError(`${capability}: the courier is stopping`, undefined, 'courier_stopping')) });
    return;
  }
  latestDeadline = Math.max(latestDeadline, deadline);
  const sending = deliver(message);
  inFlight.add(sending);
  // The worker hears by the deadline, when Temporal gives the attempt up anyway. An email still in flight
  // then (an SMTP server holding its reply) goes on, and is still recorded if it is accepted.
  let answered = false;
  const timer = setTimeout(
    () => {
      answered = true;
      post({
        type: 'error',
        id,
        error: toWire(new TransientError(`${capability}: still in flight at the attempt's deadline`, undefined, 'timeout')),
      });
    },
    Math.max(0, deadline - Date.now()),
  );
  const settle = (reply: FromCourier, outcome: Record<string, unknown>) => {
    clearTimeout(timer);
    inFlight.delete(sending);
    const told = !answered && post(reply);
    // The worker that asked is gone: this line is the only trace of a send it will not hear about.
    if (!told) local.info('courier.send_finished', { job_id: ctx.workflowId, name: ctx.job, capability, attempt: ctx.attempt, ...outcome });
  };
  sending.then(
    (result) => settle({ type: 'result', id, result }, { outcome: 'sent' }),
    (err) =>
      settle(
        { type: 'error', id, error: toWire(err) },
        { outcome: 'failed', error: (err as Error).message, code: (err as { code?: unknown }).code },
      ),
  );
}

function onLookupResult(message: Extract<ToCourier, { type: 'lookup-result' }>): void {
  const pending = lookups.get(message.id);
  if (!pending) return;
  lookups.delete(message.id);
  if (message.error) pending.reject(fromWire(message.error));
  else pending.resolve(message.addresses ?? []);
}

/**
 * Accepts nothing more, lets the sends in flight finish (each is bounded by its attempt's deadline) and
 * record, closes, exits. `close` is the worker shutting down; anything else means it is gone.
 */
async function drainAndExit(reason: string): Promise<void> {
  if (!accepting) return;
  accepting = false;
  const orphaned = reason !== 'close';
  for (const { reject } of lookups.values())
    reject(Object.assign(new Error('the worker that resolves names is gone'), { code: 'EAI_AGAIN' }));
  lookups.clear();
  const holding = inFlight.size;
  if (orphaned) local.info('courier.orphaned', { reason, in_flight: holding });
  const cap = setTimeout(
    () => {
      local.warn('courier.abandoned', { reason, in_flight: inFlight.size });
      process.exit(1);
    },
    Math.max(0, latestDeadline - Date.now()) + DRAIN_GRACE_MS,
  );
  await Promise.allSettled([...inFlight]);
  await Promise.all([...unflushed]);
  for (const provider of new Set(providers?.values() ?? [])) await provider.close?.().catch(() => undefined);
  await pool?.end().catch(() => undefined);
  clearTimeout(cap);
  if (orphaned) local.info('courier.stopped', { reason, finished: holding });
  process.exit(0);
}

process.on('message', (message: ToCourier) => {
  if (message.type === 'init') init(message);
  else if (message.type === 'send') onSend(message);
  else if (message.type === 'lookup-result') onLookupResult(message);
  else if (message.type === 'close') void drainAndExit('close');
});
process.on('disconnect', () => void drainAndExit('disconnect'));
// Its own process group keeps it out of a terminal's Ctrl-C; a signal sent to it on purpose drains it too.
process.on('SIGTERM', () => void drainAndExit('SIGTERM'));
process.on('SIGINT', () => void drainAndExit('SIGINT'));
