/**
 * AES-256-GCM payload codec: every payload the client and worker send to Temporal (workflow input, activity
 * arguments and results, query answers) is encrypted before it leaves the process, so the server's history
 * holds no record data, email addresses or secrets. Keys rotate by id: a payload names the key that
 * encrypted it, new payloads use the current key, older keys stay to decode what is already in history.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { Payload, PayloadCodec } from '@temporalio/common';
import { temporal } from '@temporalio/proto';

export const ENCRYPTED_ENCODING = 'binary/encrypted';
export const KEY_ID_METADATA = 'encryption-key-id';
const ALGORITHM = 'aes-256-gcm';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const KEY_BYTES = 32;

export interface EncryptionCodecOptions {
  /** key id → 32-byte key; ids end up in payload metadata, so they must not be secret */
  keys: Record<string, Uint8Array>;
  /** the key new payloads are encrypted with; must be one of `keys` */
  currentKeyId: string;
}

export class CodecKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CodecKeyError';
  }
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();

export function createEncryptionCodec(options: EncryptionCodecOptions): PayloadCodec & { currentKeyId: string; keyIds: string[] } {
  const keys = new Map<string, Buffer>();
  for (const [id, key] of Object.entries(options.keys)) {
    if (!id) throw new CodecKeyError('payload codec: a key id must not be empty');
    if (key.length !== KEY_BYTES) throw new CodecKeyError(`payload codec: key "${id}" has ${key.length} bytes; AES-256 needs ${KEY_BYTES}`);
    keys.set(id, Buffer.from(key));
  }
  const currentKeyId = options.currentKeyId;
  const current = keys.get(currentKeyId);
  if (!current)
    throw new CodecKeyError(
      `payload codec: the current key id "${currentKeyId}" is not among the keys (${[...keys.keys()].join(', ') || 'none'})`,
    );

  function encryptOne(payload: Payload): Payload {
    const plain = temporal.api.common.v1.Payload.encode(payload).finish();
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, current!, iv);
    // The key id is authenticated: a payload cannot be passed off as encrypted under another key.
    cipher.setAAD(utf8.encode(currentKeyId));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return {
      metadata: { encoding: utf8.encode(ENCRYPTED_ENCODING), [KEY_ID_METADATA]: utf8.encode(currentKeyId) },
      data: Buffer.concat([iv, body, cipher.getAuthTag()]),
    };
  }

  function decryptOne(payload: Payload): Payload {
    if (!isEncrypted(payload)) return payload; // written before encryption was on, or by another codec
    const raw = payload.metadata?.[KEY_ID_METADATA];
    if (!raw) throw new CodecKeyError('payload codec: an encrypted payload has no encryption-key-id');
    const keyId = fromUtf8.decode(raw);
    const key = keys.get(keyId);
    if (!key) {
      throw new CodecKeyError(
        `payload codec: no key with id "${keyId}" to decrypt this payload (known: ${[...keys.keys()].join(', ')}); ` +
          'keep retired keys in FORGE_CODEC_KEYS while history still holds payloads they encrypted',
      );
    }
    const data = Buffer.from(payload.data ?? new Uint8Array());
    if (data.length < IV_BYTES + TAG_BYTES) throw new CodecKeyError(`payload codec: encrypted payload (key "${keyId}") is truncated`);
    const decipher = createDecipheriv(ALGORITHM, key, data.subarray(0, IV_BYTES));
    decipher.setAAD(utf8.encode(keyId));
    decipher.setAuthTag(data.subarray(data.length - TAG_BYTES));
    let plain: Buffer;
    try {
      plain = Buffer.concat([decipher.update(data.subarray(IV_BYTES, data.length - TAG_BYTES)), decipher.final()]);
    } catch {
      throw new CodecKeyError(
        `payload codec: payload does not decrypt with key "${keyId}" (wrong key material, or the payload was altered)`,
      );
    }
    const decoded = temporal.api.common.v1.Payload.decode(plain);
    return { metadata: decoded.metadata ?? {}, data: decoded.data ?? new Uint8Array() };
  }

  return {
    currentKeyId,
    keyIds: [...keys.keys()],
    async encode(payloads: Payload[]): Promise<Payload[]> {
      return payloads.map(encryptOne);
    },
    async decode(payloads: Payload[]): Promise<Payload[]> {
      return payloads.map(decryptOne);
    },
  };
}

export function isEncrypted(payload: Payload): boolean {
  const encoding = payload.metadata?.encoding;
  return encoding !== undefined && encoding !== null && fromUtf8.decode(encoding) === ENCRYPTED_ENCODING;
}
