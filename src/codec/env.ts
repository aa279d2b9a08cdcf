/**
 * The payload codec from the environment:
 *   FORGE_CODEC_KEY      base64 of 32 random bytes: the current key (`openssl rand -base64 32`)
 *   FORGE_CODEC_KEY_ID   its id, written into every payload it encrypts (not secret: e.g. "2026-11")
 *   FORGE_CODEC_KEYS     retired keys still needed to decode older history: "id1:base64,id2:base64"
 * None set → no codec (payloads stay plain JSON).
 */
import type { DataConverter, PayloadCodec } from '@temporalio/common';
import { CodecKeyError, createEncryptionCodec, KEY_BYTES } from './encryption';

export type CodecEnv = Record<string, string | undefined>;

export function codecFromEnv(env: CodecEnv = process.env): PayloadCodec | undefined {
  const key = env.FORGE_CODEC_KEY?.trim();
  const keyId = env.FORGE_CODEC_KEY_ID?.trim();
  const older = env.FORGE_CODEC_KEYS?.trim();
  if (!key && !keyId && !older) return undefined;
  if (!key)
    throw new CodecKeyError(
      'FORGE_CODEC_KEY is not set (FORGE_CODEC_KEY_ID or FORGE_CODEC_KEYS is): set the current key, base64 of 32 bytes',
    );
  if (!keyId) throw new CodecKeyError('FORGE_CODEC_KEY_ID is not set: name the current key (the id goes into every payload it encrypts)');
  const keys: Record<string, Buffer> = {};
  for (const entry of (older ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const colon = entry.indexOf(':');
    if (colon <= 0) throw new CodecKeyError(`FORGE_CODEC_KEYS: "${entry.slice(0, 20)}…" is not id:base64`);
    const id = entry.slice(0, colon).trim();
    keys[id] = parseKey(entry.slice(colon + 1).trim(), `FORGE_CODEC_KEYS key "${id}"`);
  }
  keys[keyId] = parseKey(key, 'FORGE_CODEC_KEY');
  return createEncryptionCodec({ keys, currentKeyId: keyId });
}

/** `{ payloadCodecs: [codec] }` when the environment configures a key, else undefined (the SDK default). */
export function dataConverterFromEnv(env: CodecEnv = process.env): DataConverter | undefined {
  const codec = codecFromEnv(env);
  return codec ? { payloadCodecs: [codec] } : undefined;
}

function parseKey(text: string, what: string): Buffer {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(text)) throw new CodecKeyError(`${what} is not base64`);
  const key = Buffer.from(text, 'base64');
  if (key.length !== KEY_BYTES)
    throw new CodecKeyError(`${what} decodes to ${key.length} bytes; AES-256 needs ${KEY_BYTES} (openssl rand -base64 32)`);
  return key;
}
