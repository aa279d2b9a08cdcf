/**
 * The bound on one effect's payload. A template or handler fed from record data could otherwise make the
 * worker build and send arbitrarily large messages; sending it again would not make it smaller, so it is
 * a permanent failure that names the size.
 */
import { PermanentError } from '../errors';

/** Largest email body (text + html) or HTTP request body, in bytes: 1 MiB. */
export const MAX_EFFECT_PAYLOAD_BYTES = 1024 * 1024;

export function checkPayloadSize(what: string, bytes: number, limit: number = MAX_EFFECT_PAYLOAD_BYTES): void {
  if (bytes > limit) throw new PermanentError(`${what} is ${bytes} bytes, more than the limit ${limit}`, 'payload_too_large');
}
