/**
 * Errors across the courier's process boundary. The activity classifies by class (PermanentError or
 * TransientError), `code` and `retryAfterMs` (src/activities/effect.ts), so those are carried explicitly;
 * structured clone would keep only the message. Subclass fields (an HTTP status, the refused address) ride
 * along as plain properties, and the name stays the subclass's, so logs and history read as before.
 */
import { PermanentError, TransientError } from '../errors';

export interface WireError {
  kind: 'permanent' | 'transient' | 'other';
  name: string;
  message: string;
  code?: string;
  retryAfterMs?: number;
  stack?: string;
  /** own enumerable fields of the original (status, host, address, …); primitives only */
  fields: Record<string, string | number | boolean>;
}

const CARRIED = new Set(['kind', 'code', 'retryAfterMs', 'message', 'name', 'stack']);

export function toWire(err: unknown): WireError {
  if (!(err instanceof Error)) return { kind: 'other', name: 'Error', message: String(err), fields: {} };
  const fields: WireError['fields'] = {};
  for (const [key, value] of Object.entries(err)) {
    if (CARRIED.has(key)) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') fields[key] = value;
  }
  const code = (err as { code?: unknown }).code;
  return {
    kind: err instanceof PermanentError ? 'permanent' : err instanceof TransientError ? 'transient' : 'other',
    name: err.name,
    message: err.message,
    ...(typeof code === 'string' && { code }),
    ...(err instanceof TransientError && err.retryAfterMs !== undefined && { retryAfterMs: err.retryAfterMs }),
    stack: err.stack,
    fields,
  };
}

export function fromWire(wire: WireError): Error {
  let err: Error;
  if (wire.kind === 'permanent') err = new PermanentError(wire.message, wire.code);
  else if (wire.kind === 'transient') err = new TransientError(wire.message, wire.retryAfterMs, wire.code);
  else {
    err = new Error(wire.message);
    // e.g. ENOTFOUND from a DNS stub: the HTTP provider's classification reads it
    if (wire.code !== undefined) Object.assign(err, { code: wire.code });
  }
  Object.assign(err, wire.fields);
  err.name = wire.name;
  if (wire.stack) err.stack = wire.stack;
  return err;
}
