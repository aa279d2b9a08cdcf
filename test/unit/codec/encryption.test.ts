/** The AES-256-GCM payload codec: round trip, key rotation, and a clear error for every payload it cannot read. */
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter, type Payload } from '@temporalio/common';
import { CodecKeyError, createEncryptionCodec, ENCRYPTED_ENCODING, isEncrypted, KEY_ID_METADATA } from '../../../src/codec/encryption';

const SECRET = 'planted.pii@example.test';
const text = (p: Payload) => Buffer.from(p.data ?? []).toString('utf8');
const meta = (p: Payload, key: string) => Buffer.from(p.metadata?.[key] ?? []).toString('utf8');
const plain = (value: unknown) => defaultPayloadConverter.toPayload(value);
const keyA = randomBytes(32);
const keyB = randomBytes(32);
const value = { email: SECRET, token: 'sk_live_x' };
const codecOf = (keys: Record<string, Buffer>, currentKeyId: string) => createEncryptionCodec({ keys, currentKeyId });

test('encrypts the whole payload, metadata included, and decodes it back', async () => {
  const codec = codecOf({ a: keyA }, 'a');
  const [encoded] = await codec.encode([plain(value)]);
  expect(isEncrypted(encoded)).toBe(true);
  expect(meta(encoded, 'encoding')).toBe(ENCRYPTED_ENCODING);
  expect(meta(encoded, KEY_ID_METADATA)).toBe('a');
  expect(Object.keys(encoded.metadata!).sort()).toEqual(['encoding', KEY_ID_METADATA]); // json/plain is inside
  expect(text(encoded)).not.toContain(SECRET);
  const [decoded] = await codec.decode([encoded]);
  expect(meta(decoded, 'encoding')).toBe('json/plain');
  expect(defaultPayloadConverter.fromPayload(decoded)).toEqual(value);
});

test('a fresh IV for every payload: the same value encrypts differently each time', async () => {
  const codec = codecOf({ a: keyA }, 'a');
  const [one, two] = await codec.encode([plain(value), plain(value)]);
  expect(Buffer.from(one.data!).equals(Buffer.from(two.data!))).toBe(false);
});

test('rotation: a new current key encrypts, the retired key still decodes what it wrote', async () => {
  const [underA] = await codecOf({ a: keyA }, 'a').encode([plain(value)]);
  const after = codecOf({ a: keyA, b: keyB }, 'b');
  expect(after.currentKeyId).toBe('b');
  expect(after.keyIds.sort()).toEqual(['a', 'b']);
  const [underB] = await after.encode([plain('new')]);
  expect(meta(underB, KEY_ID_METADATA)).toBe('b');
  const [a, b] = await after.decode([underA, underB]);
  expect(defaultPayloadConverter.fromPayload(a)).toEqual(value);
  expect(defaultPayloadConverter.fromPayload(b)).toBe('new');
});

test('payloads written without encryption pass through', async () => {
  const [out] = await codecOf({ a: keyA }, 'a').decode([plain('old history')]);
  expect(defaultPayloadConverter.fromPayload(out)).toBe('old history');
});

describe('a payload it cannot read is a CodecKeyError that says why', () => {
  let underA: Payload;
  beforeAll(async () => {
    [underA] = await codecOf({ a: keyA }, 'a').encode([plain(value)]);
  });

  test('a key id it does not hold', async () => {
    await expect(codecOf({ b: keyB }, 'b').decode([underA])).rejects.toThrow(/no key with id "a".*FORGE_CODEC_KEYS/);
  });

  test('the same id with other key material', async () => {
    const err = await codecOf({ a: keyB }, 'a')
      .decode([underA])
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CodecKeyError);
    expect((err as Error).message).toMatch(/does not decrypt with key "a"/);
  });

  test('an altered ciphertext', async () => {
    const data = Buffer.from(underA.data!);
    data[20] ^= 1;
    await expect(codecOf({ a: keyA }, 'a').decode([{ ...underA, data }])).rejects.toThrow(/does not decrypt with key "a"/);
  });

  test('a payload relabelled with another key id (the id is authenticated)', async () => {
    const both = codecOf({ a: keyA, b: keyA }, 'a');
    const relabelled = { ...underA, metadata: { ...underA.metadata, [KEY_ID_METADATA]: Buffer.from('b') } };
    await expect(both.decode([relabelled])).rejects.toThrow(/does not decrypt with key "b"/);
  });

  test('a truncated payload, and one without a key id', async () => {
    await expect(codecOf({ a: keyA }, 'a').decode([{ ...underA, data: Buffer.from(underA.data!).subarray(0, 20) }])).rejects.toThrow(
      /truncated/,
    );
    const noId = { ...underA, metadata: { encoding: underA.metadata!.encoding } };
    await expect(codecOf({ a: keyA }, 'a').decode([noId])).rejects.toThrow(/has no encryption-key-id/);
  });
});

test('keys are checked when the codec is made', () => {
  expect(() => codecOf({ a: keyA }, 'zz')).toThrow(/"zz" is not among the keys \(a\)/);
  expect(() => codecOf({ a: randomBytes(16) }, 'a')).toThrow(/key "a" has 16 bytes; AES-256 needs 32/);
  expect(() => codecOf({ '': keyA }, '')).toThrow(CodecKeyError);
});
