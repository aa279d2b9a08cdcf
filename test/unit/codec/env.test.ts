/** The payload codec from FORGE_CODEC_KEY, FORGE_CODEC_KEY_ID and FORGE_CODEC_KEYS. */
import { randomBytes } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import { codecFromEnv, dataConverterFromEnv } from '../../../src/codec/env';
import { createEncryptionCodec, KEY_ID_METADATA } from '../../../src/codec/encryption';

const keyA = randomBytes(32);
const keyB = randomBytes(32);
const b64 = (key: Buffer) => key.toString('base64');

test('no variable set: no codec, payloads stay plain', () => {
  expect(codecFromEnv({})).toBeUndefined();
  expect(dataConverterFromEnv({})).toBeUndefined();
  expect(codecFromEnv({ FORGE_CODEC_KEY: '  ' })).toBeUndefined();
});

test('the current key under its id encrypts; retired keys decode what they wrote', async () => {
  const env = { FORGE_CODEC_KEY: b64(keyB), FORGE_CODEC_KEY_ID: ' k2 ', FORGE_CODEC_KEYS: `k0:${b64(randomBytes(32))}, k1:${b64(keyA)}` };
  const codec = codecFromEnv(env)!;
  const [fresh] = await codec.encode([defaultPayloadConverter.toPayload(1)]);
  expect(Buffer.from(fresh.metadata![KEY_ID_METADATA]!).toString()).toBe('k2');
  const [old] = await createEncryptionCodec({ keys: { k1: keyA }, currentKeyId: 'k1' }).encode([defaultPayloadConverter.toPayload('old')]);
  expect(defaultPayloadConverter.fromPayload((await codec.decode([old]))[0])).toBe('old');
  expect(dataConverterFromEnv(env)?.payloadCodecs).toHaveLength(1);
});

test('base64url keys are read too', () => {
  expect(codecFromEnv({ FORGE_CODEC_KEY: keyA.toString('base64url'), FORGE_CODEC_KEY_ID: 'u' })).toBeDefined();
});

test.each([
  ['an id without its key', { FORGE_CODEC_KEY_ID: 'k1' }, /FORGE_CODEC_KEY is not set/],
  ['retired keys without a current one', { FORGE_CODEC_KEYS: `k1:${b64(keyA)}` }, /FORGE_CODEC_KEY is not set/],
  ['a key without its id', { FORGE_CODEC_KEY: b64(keyA) }, /FORGE_CODEC_KEY_ID is not set/],
  ['a key that is not base64', { FORGE_CODEC_KEY: 'not base64!', FORGE_CODEC_KEY_ID: 'k' }, /FORGE_CODEC_KEY is not base64/],
  ['a key of 16 bytes', { FORGE_CODEC_KEY: b64(randomBytes(16)), FORGE_CODEC_KEY_ID: 'k' }, /decodes to 16 bytes; AES-256 needs 32/],
  ['a retired key without an id', { FORGE_CODEC_KEY: b64(keyA), FORGE_CODEC_KEY_ID: 'k', FORGE_CODEC_KEYS: b64(keyB) }, /is not id:base64/],
  [
    'a retired key of the wrong size',
    { FORGE_CODEC_KEY: b64(keyA), FORGE_CODEC_KEY_ID: 'k', FORGE_CODEC_KEYS: `old:${b64(randomBytes(8))}` },
    /FORGE_CODEC_KEYS key "old" decodes to 8 bytes/,
  ],
])('%s is refused, saying what to set', (_name, env, message) => {
  expect(() => codecFromEnv(env)).toThrow(message);
});
