/**
 * Secrets and PII out of history, end to end on a dev server of its own (the codec itself:
 * test/unit/codec): a job whose trigger record holds an email address and a
 * secret leaves neither in the raw history the Temporal CLI prints, while the codec server decodes them.
 */
import { defaultPayloadConverter } from '@temporalio/common';
import { ENCRYPTED_ENCODING, fromJSON, toJSON } from '../../src/codec';
import { PLANTED_EMAIL, PLANTED_SECRET, startCodecStack, type CodecStack } from '../support/codec-stack';

const plain = (value: unknown) => defaultPayloadConverter.toPayload(value);

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
    const other = await fetch(`${stack.codecServer.url}/decode`, {
      method: 'POST',
      headers: { origin: 'http://evil.test' },
      body: '{"payloads":[]}',
    });
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
