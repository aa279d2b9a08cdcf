/**
 * Secrets and PII out of history: the AES-256-GCM payload codec (round trip, key rotation, clear errors),
 * then end to end on a dev server of its own: a job whose trigger record holds an email address and a
 * secret leaves neither in the raw history the Temporal CLI prints, while the codec server decodes them.
 */
import { randomBytes } from 'node:crypto';
import type { Payload } from '@temporalio/common';
import { defaultPayloadConverter } from '@temporalio/common';
import { codecFromEnv, createEncryptionCodec, ENCRYPTED_ENCODING, fromJSON, toJSON } from '../../src/codec';
import { PLANTED_EMAIL, PLANTED_SECRET, startCodecStack, type CodecStack } from '../support/codec-stack';

const text = (p: Payload) => Buffer.from(p.data ?? []).toString('utf8');
const meta = (p: Payload, key: string) => Buffer.from(p.metadata?.[key] ?? []).toString('utf8');
const plain = (value: unknown) => defaultPayloadConverter.toPayload(value);

describe('the encryption codec', () => {
  const keyA = randomBytes(32);
  const keyB = randomBytes(32);
  const value = { email: PLANTED_EMAIL, token: PLANTED_SECRET };

  test('encrypts the whole payload and decodes it back', async () => {
    const codec = createEncryptionCodec({ keys: { a: keyA }, currentKeyId: 'a' });
    const [encoded] = await codec.encode([plain(value)]);
    expect(meta(encoded, 'encoding')).toBe(ENCRYPTED_ENCODING);
    expect(meta(encoded, 'encryption-key-id')).toBe('a');
    expect(Object.keys(encoded.metadata!).sort()).toEqual(['encoding', 'encryption-key-id']); // json/plain is inside
    expect(text(encoded)).not.toContain(PLANTED_EMAIL);
    expect(Buffer.from(encoded.data!).toString('base64')).not.toContain(Buffer.from(PLANTED_EMAIL).toString('base64'));
    const [decoded] = await codec.decode([encoded]);
    expect(meta(decoded, 'encoding')).toBe('json/plain');
    expect(defaultPayloadConverter.fromPayload(decoded)).toEqual(value);
    // a fresh IV each time
    const [again] = await codec.encode([plain(value)]);
    expect(Buffer.from(again.data!).equals(Buffer.from(encoded.data!))).toBe(false);
  });

  test('rotation: payloads of the old key still decode once the current key changes', async () => {
    const before = createEncryptionCodec({ keys: { a: keyA }, currentKeyId: 'a' });
    const [underA] = await before.encode([plain(value)]);
    const after = createEncryptionCodec({ keys: { a: keyA, b: keyB }, currentKeyId: 'b' });
    const [underB] = await after.encode([plain('new')]);
    expect(meta(underB, 'encryption-key-id')).toBe('b');
    const [a, b] = await after.decode([underA, underB]);
    expect(defaultPayloadConverter.fromPayload(a)).toEqual(value);
    expect(defaultPayloadConverter.fromPayload(b)).toBe('new');
  });

  test('a retired key that was dropped is a clear error, not garbage', async () => {
    const [underA] = await createEncryptionCodec({ keys: { a: keyA }, currentKeyId: 'a' }).encode([plain(value)]);
    const onlyB = createEncryptionCodec({ keys: { b: keyB }, currentKeyId: 'b' });
    await expect(onlyB.decode([underA])).rejects.toThrow(/no key with id "a"/);
    // same id, other key material: authentication fails
    const wrong = createEncryptionCodec({ keys: { a: keyB }, currentKeyId: 'a' });
    await expect(wrong.decode([underA])).rejects.toThrow(/does not decrypt with key "a"/);
  });

  test('payloads written without encryption pass through', async () => {
    const codec = createEncryptionCodec({ keys: { a: keyA }, currentKeyId: 'a' });
    const [out] = await codec.decode([plain('old history')]);
    expect(defaultPayloadConverter.fromPayload(out)).toBe('old history');
  });

  test('keys from the environment, with retired keys for rotation', async () => {
    expect(codecFromEnv({})).toBeUndefined();
    const env = { FORGE_CODEC_KEY: keyB.toString('base64'), FORGE_CODEC_KEY_ID: 'k2', FORGE_CODEC_KEYS: `k1:${keyA.toString('base64')}` };
    const [old] = await createEncryptionCodec({ keys: { k1: keyA }, currentKeyId: 'k1' }).encode([plain(value)]);
    const codec = codecFromEnv(env)!;
    const [fresh] = await codec.encode([plain(1)]);
    expect(meta(fresh, 'encryption-key-id')).toBe('k2');
    expect((await codec.decode([old])).map((p) => defaultPayloadConverter.fromPayload(p))).toEqual([value]);
    expect(() => codecFromEnv({ FORGE_CODEC_KEY: keyA.toString('base64') })).toThrow(/FORGE_CODEC_KEY_ID/);
    expect(() => codecFromEnv({ FORGE_CODEC_KEY: randomBytes(16).toString('base64'), FORGE_CODEC_KEY_ID: 'x' })).toThrow(/16 bytes.*32/);
    expect(() => codecFromEnv({ ...env, FORGE_CODEC_KEYS: 'nocolon' })).toThrow(/id:base64/);
    expect(() => createEncryptionCodec({ keys: { a: keyA }, currentKeyId: 'zz' })).toThrow(/"zz" is not among the keys/);
  });
});

describe('end to end: history holds ciphertext, the codec server decodes it', () => {
  let stack: CodecStack;
  let workflowId: string;
  let history: string;

  beforeAll(async () => {
    stack = await startCodecStack('codec');
    const run = await stack.signup('ok');
    expect(run.state).toBe('completed');
    workflowId = run.workflowId;
    history = await stack.rawHistory(workflowId);
  });

  afterAll(async () => {
    await stack?.stop();
  });

  test('the job ran with the real data: the webhook got the email', () => {
    expect(stack.webhook.hits.some(({ body }) => body.includes(PLANTED_EMAIL) && body.includes(PLANTED_SECRET))).toBe(true);
  });

  test('the raw history that `temporal workflow show` prints holds neither the email nor the secret', () => {
    expect(history).toContain('workflowExecutionStartedEventAttributes'); // it is the history, not an error
    for (const planted of [PLANTED_EMAIL, PLANTED_SECRET, 'planted.pii', 'sk_live_planted']) {
      expect(history).not.toContain(planted);
      // nor inside any base64 field of it
      for (const blob of history.match(/[A-Za-z0-9+/]{16,}={0,2}/g) ?? []) {
        expect(Buffer.from(blob, 'base64').toString('latin1')).not.toContain(planted);
      }
    }
    // the payloads are there, encrypted
    const events = eventsOf(history);
    const input = startedInput(events);
    expect(input.length).toBeGreaterThan(0);
    expect(Buffer.from(input[0].metadata!.encoding!, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
    // search attributes stay readable (they are not payload data)
    expect(history).toContain('ForgeJobState');
  });

  test("the codec server's /decode returns them, and answers the UI's CORS preflight", async () => {
    const input = startedInput(eventsOf(history));
    const origin = stack.dev.uiUrl;
    const preflight = await fetch(`${stack.codecServer.url}/decode`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace' },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe(origin);
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/x-namespace/);

    const res = await fetch(`${stack.codecServer.url}/decode`, {
      method: 'POST',
      headers: { origin, 'content-type': 'application/json', 'x-namespace': 'default' },
      body: JSON.stringify({ payloads: input }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe(origin);
    const { payloads } = (await res.json()) as { payloads: Array<{ metadata: Record<string, string>; data: string }> };
    const decoded = payloads.map((p) => defaultPayloadConverter.fromPayload(fromJSON(p)));
    expect(JSON.stringify(decoded)).toContain(PLANTED_EMAIL);
    expect(JSON.stringify(decoded)).toContain(PLANTED_SECRET);

    // and /encode is its inverse
    const enc = await fetch(`${stack.codecServer.url}/encode`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ payloads: [toJSON(plain('x'))] }),
    });
    const [encrypted] = ((await enc.json()) as { payloads: Array<{ metadata: Record<string, string> }> }).payloads;
    expect(Buffer.from(encrypted.metadata.encoding, 'base64').toString()).toBe(ENCRYPTED_ENCODING);

    // a page from another origin is refused
    const other = await fetch(`${stack.codecServer.url}/decode`, { method: 'POST', headers: { origin: 'http://evil.test' }, body: '{"payloads":[]}' });
    expect(other.status).toBe(403);
  });

  test('a client with the codec reads the workflow as usual', async () => {
    const handle = stack.client.workflow.getHandle(workflowId);
    const started = await handle.fetchHistory();
    const attrs = started.events?.[0]?.workflowExecutionStartedEventAttributes;
    // fetchHistory returns raw (still encrypted) events; decoding them is the data converter's job
    expect(Buffer.from(attrs!.input!.payloads![0].metadata!.encoding!).toString()).toBe(ENCRYPTED_ENCODING);
    expect(await handle.query('state')).toBe('completed');
  });
});

interface JsonEvent {
  eventType?: string;
  workflowExecutionStartedEventAttributes?: { input?: { payloads?: Array<{ metadata?: Record<string, string>; data?: string }> } };
}

function eventsOf(history: string): JsonEvent[] {
  const parsed = JSON.parse(history) as { events?: JsonEvent[] } | JsonEvent[];
  return Array.isArray(parsed) ? parsed : (parsed.events ?? []);
}

function startedInput(events: JsonEvent[]) {
  const started = events.find((e) => e.workflowExecutionStartedEventAttributes);
  if (!started) throw new Error('no WorkflowExecutionStarted event in the CLI output');
  return started.workflowExecutionStartedEventAttributes!.input!.payloads!;
}
