/**
 * The HTTP provider against the scripted HTTP sink on 127.0.0.1 (test/support/sinks.ts). Nothing here may ever reach another
 * address: names resolve through a stub lookup, and net.connect is wrapped so that any attempt to open
 * a socket to a non-loopback address throws in the test instead of sending a packet.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net = require('node:net');
import type { HttpConfig } from '../../../src/config/types';
import type { EffectContext, HttpRequest } from '../../../src/effects/types';
import { PermanentError, TransientError } from '../../../src/errors';
import { createHttpProvider, parseRetryAfter } from '../../../src/providers/http';
import type { LookupFn } from '../../../src/providers/ssrf';
import type { Provider } from '../../../src/providers/types';
import { startHttpSink, type HttpAnswer, type HttpHit, type HttpSink } from '../../support/sinks';

let sink: HttpSink;
let port: number;
let base: string;

// Keeps each connection's first request, to show which connections were opened.
let closeAfterResponse = false;

function route(hit: HttpHit): HttpAnswer {
  const url = new URL(hit.path, 'http://x');
  const headers: Record<string, string> = closeAfterResponse ? { connection: 'close' } : {};
  const status = Number(url.searchParams.get('status') ?? '200');
  switch (url.pathname) {
    case '/status':
      if (url.searchParams.has('retryAfter')) headers['retry-after'] = url.searchParams.get('retryAfter')!;
      return { status, headers, body: 'status body' };
    case '/redirect':
      return {
        status: Number(url.searchParams.get('code') ?? '302'),
        headers: { ...headers, location: url.searchParams.get('to')! },
        body: '',
      };
    case '/loop':
      return { status: 302, headers: { ...headers, location: '/loop' }, body: '' };
    case '/big':
      return { status: 200, headers: { ...headers, 'content-type': 'application/octet-stream' }, body: Buffer.alloc(5 * 1024 * 1024, 1) };
    case '/slow':
      // never answers: the provider's timeout must end the request
      return 'hang';
    default:
      return {
        status: 200,
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify({ ok: true, echo: hit.body.length }),
      };
  }
}

beforeAll(async () => {
  sink = await startHttpSink({ answer: route });
  port = sink.port;
  base = sink.url;
});

afterAll(async () => {
  await sink.close();
});

// ---------------------------------------------------------------------------------------------------
// The connect path, watched and fenced.

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|::ffff:127\.\d+\.\d+\.\d+)$/;
const realConnect = net.connect;
let connects: string[] = [];

beforeEach(() => {
  sink.reset();
  connects = [];
  closeAfterResponse = false;
  jest.spyOn(net, 'connect').mockImplementation(((...args: unknown[]) => {
    const first = args[0];
    const host = typeof first === 'object' && first !== null ? String((first as { host?: unknown }).host) : String(args[1] ?? 'localhost');
    connects.push(host);
    if (!LOOPBACK.test(host)) throw new Error(`test fence: refused to open a socket to ${host}`);
    return (realConnect as (...a: unknown[]) => net.Socket).apply(net, args);
  }) as typeof net.connect);
});

afterEach(() => {
  jest.restoreAllMocks();
});

// ---------------------------------------------------------------------------------------------------

const NAMES: Record<string, string[]> = {
  'app.test': ['127.0.0.1'],
  'localhost.test': ['127.0.0.1'],
  'internal.test': ['10.1.2.3'],
  'metadata.test': ['169.254.169.254'],
  'ula.test': ['fd12:3456::1'],
  'mixed.test': ['93.184.216.34', '10.0.0.1'],
};
const stubLookup: LookupFn = async (hostname) => {
  const addresses = NAMES[hostname];
  if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
  return addresses.map((address) => ({ address, family: net.isIP(address) }));
};

const providers: Provider[] = [];
function provider(config: Partial<HttpConfig> = {}, lookup: LookupFn = stubLookup): Provider {
  const p = createHttpProvider({ allow: ['127.0.0.1'], timeoutMs: 2000, ...config }, { lookup });
  providers.push(p);
  return p;
}
afterAll(async () => {
  await Promise.all(providers.map((p) => p.close?.()));
});

let keyCounter = 0;
function ctx(key = `wf-1:target-7:${++keyCounter}`): EffectContext {
  return { idempotencyKey: key, job: 'notify', workflowId: 'wf-1', attempt: 1 };
}

function req(capability: HttpRequest['capability'], url: string, extra: Partial<HttpRequest> = {}): HttpRequest {
  return { capability, url, ...extra };
}

describe('requests', () => {
  test('GET reaches the allowed local server with the Idempotency-Key', async () => {
    const result = await provider().execute(req('http.get', `${base}/hello?x=1`), ctx('job-key-1'));
    expect(result).toEqual({ capability: 'http.get', detail: { status: 200 } });
    expect(sink.hits).toHaveLength(1);
    expect(sink.hits[0]).toMatchObject({ method: 'GET', path: '/hello?x=1' });
    expect(sink.hits[0].headers['idempotency-key']).toBe('job-key-1');
  });

  test('a caller-supplied Idempotency-Key is replaced by the effect key', async () => {
    await provider().execute(
      req('http.post', `${base}/hook`, { headers: { 'Idempotency-Key': 'mine', 'X-Trace': 'abc' }, body: 'x' }),
      ctx('effect-key'),
    );
    expect(sink.hits[0].headers['idempotency-key']).toBe('effect-key');
    expect(sink.hits[0].headers['x-trace']).toBe('abc');
  });

  test('POST JSON-encodes an object body and sets content-type', async () => {
    await provider().execute(req('http.post', `${base}/hook`, { body: { ticket: 42, subject: 'Help' } }), ctx());
    expect(sink.hits[0].method).toBe('POST');
    expect(sink.hits[0].headers['content-type']).toBe('application/json');
    expect(JSON.parse(sink.hits[0].body)).toEqual({ ticket: 42, subject: 'Help' });
  });

  test('a string body is sent as is, with the caller content-type', async () => {
    await provider().execute(req('http.put', `${base}/doc`, { body: 'a=1', headers: { 'content-type': 'text/plain' } }), ctx());
    expect(sink.hits[0]).toMatchObject({ method: 'PUT', body: 'a=1' });
    expect(sink.hits[0].headers['content-type']).toBe('text/plain');
  });

  test('http.delete and http.call use their methods; http.call requires one', async () => {
    const p = provider();
    await p.execute(req('http.delete', `${base}/thing/1`), ctx());
    await p.execute(req('http.call', `${base}/thing/1`, { method: 'patch', body: { a: 1 } }), ctx());
    expect(sink.hits.map((s) => s.method)).toEqual(['DELETE', 'PATCH']);
    await expect(p.execute(req('http.call', `${base}/thing/1`), ctx())).rejects.toThrow(/method is required/);
  });

  test('a method other than the capability grants is refused', async () => {
    await expect(provider().execute(req('http.get', `${base}/x`, { method: 'DELETE' }), ctx())).rejects.toBeInstanceOf(PermanentError);
    await expect(provider().execute(req('http.call', `${base}/x`, { method: 'CONNECT' }), ctx())).rejects.toBeInstanceOf(PermanentError);
    expect(sink.hits).toHaveLength(0);
  });

  test('the response body read stops at 1 MiB', async () => {
    const result = await provider().execute(req('http.get', `${base}/big`), ctx());
    expect(result.detail).toEqual({ status: 200 });
  });

  test('a 303 after POST is followed with GET and no body', async () => {
    await provider().execute(req('http.post', `${base}/redirect?code=303&to=/done`, { body: { a: 1 } }), ctx());
    expect(sink.hits.map((s) => [s.method, s.path, s.body])).toEqual([
      ['POST', '/redirect?code=303&to=/done', '{"a":1}'],
      ['GET', '/done', ''],
    ]);
    expect(sink.hits[1].headers['content-type']).toBeUndefined();
  });

  test('a 307 keeps method and body', async () => {
    await provider().execute(req('http.post', `${base}/redirect?code=307&to=/done`, { body: 'keep' }), ctx('k307'));
    expect(sink.hits[1]).toMatchObject({ method: 'POST', path: '/done', body: 'keep' });
    expect(sink.hits[1].headers['idempotency-key']).toBe('k307');
  });

  test('more than 5 redirects is a permanent failure', async () => {
    await expect(provider().execute(req('http.get', `${base}/loop`), ctx())).rejects.toThrow(/more than 5 redirects/);
    expect(sink.hits).toHaveLength(6);
  });
});

describe('refused requests (never sent)', () => {
  test.each([
    ['CR in a header value', { headers: { 'X-A': 'v\r\nInjected: 1' } }],
    ['LF in a header value', { headers: { 'X-A': 'v\nInjected: 1' } }],
    ['CR/LF in a header name', { headers: { 'X-A\r\nInjected': 'v' } }],
    ['a Host header', { headers: { Host: 'evil.test' } }],
  ])('%s', async (_name, extra) => {
    await expect(provider().execute(req('http.get', `${base}/x`, extra as Partial<HttpRequest>), ctx())).rejects.toBeInstanceOf(
      PermanentError,
    );
    expect(connects).toHaveLength(0);
  });

  test.each([
    'file:///etc/passwd',
    'ftp://127.0.0.1/x',
    'gopher://127.0.0.1:70/',
    'javascript:alert(1)',
    'not a url',
    'http://user:pw@127.0.0.1/',
  ])('url %s', async (url) => {
    await expect(provider().execute(req('http.get', url), ctx())).rejects.toBeInstanceOf(PermanentError);
    expect(connects).toHaveLength(0);
  });
});

describe('status classification', () => {
  const cases: Array<[number, 'ok' | 'permanent' | 'transient']> = [
    [200, 'ok'],
    [204, 'ok'],
    [304, 'ok'],
    [400, 'permanent'],
    [401, 'permanent'],
    [404, 'permanent'],
    [422, 'permanent'],
    [408, 'transient'],
    [425, 'transient'],
    [429, 'transient'],
    [500, 'transient'],
    [503, 'transient'],
  ];
  test.each(cases)('%i is %s', async (status, kind) => {
    const run = provider().execute(req('http.post', `${base}/status?status=${status}`, { body: {} }), ctx());
    if (kind === 'ok') {
      await expect(run).resolves.toEqual({ capability: 'http.post', detail: { status } });
    } else {
      const err = await run.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(kind === 'permanent' ? PermanentError : TransientError);
      expect(err).toMatchObject({ status, message: expect.stringContaining(String(status)) });
    }
  });

  test('429 carries Retry-After seconds', async () => {
    await expect(provider().execute(req('http.get', `${base}/status?status=429&retryAfter=7`), ctx())).rejects.toMatchObject({
      kind: 'transient',
      retryAfterMs: 7000,
    });
  });

  test('503 carries a Retry-After HTTP date', async () => {
    const at = new Date(Date.now() + 60_000).toUTCString();
    const err = (await provider()
      .execute(req('http.get', `${base}/status?status=503&retryAfter=${encodeURIComponent(at)}`), ctx())
      .catch((e: unknown) => e)) as TransientError;
    expect(err).toBeInstanceOf(TransientError);
    expect(err.retryAfterMs).toBeGreaterThan(55_000);
    expect(err.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  test('parseRetryAfter', () => {
    const now = Date.parse('2025-01-01T00:00:00Z');
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
  });

  test('a server that never answers is a transient timeout', async () => {
    const started = Date.now();
    await expect(provider({ timeoutMs: 300 }).execute(req('http.get', `${base}/slow`), ctx())).rejects.toMatchObject({
      kind: 'transient',
      code: 'timeout',
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('connection refused is transient', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await expect(provider().execute(req('http.get', `http://127.0.0.1:${closedPort}/`), ctx())).rejects.toBeInstanceOf(TransientError);
  });

  test('a name that does not resolve is transient', async () => {
    await expect(provider().execute(req('http.get', 'http://nowhere.test/'), ctx())).rejects.toBeInstanceOf(TransientError);
    expect(connects).toHaveLength(0);
  });
});

describe('SSRF guard', () => {
  // Each URL is refused with no allow list at all; the port is the local server's so that a guard
  // failure on a loopback form would show up as a request that arrived.
  const vectors: Array<[string, () => string, RegExp]> = [
    ['loopback', () => `http://127.0.0.1:${port}/`, /127\.0\.0\.1.*loopback/],
    ['loopback, other /8 address', () => `http://127.0.0.2:${port}/`, /loopback/],
    ['10/8', () => 'http://10.0.0.1/', /10\.0\.0\.1.*private/],
    ['172.16/12', () => 'http://172.16.5.4/', /172\.16\.5\.4.*private/],
    ['172.31 (top of 172.16/12)', () => 'http://172.31.255.255/', /private/],
    ['192.168/16', () => 'http://192.168.1.1/', /192\.168\.1\.1.*private/],
    ['cloud metadata', () => 'http://169.254.169.254/latest/meta-data/', /169\.254\.169\.254.*link-local/],
    ['unspecified 0.0.0.0', () => `http://0.0.0.0:${port}/`, /0\.0\.0\.0.*unspecified/],
    ['"0", short for 0.0.0.0', () => `http://0:${port}/`, /unspecified/],
    ['CGNAT', () => 'http://100.64.0.1/', /cgnat/],
    ['multicast', () => 'http://224.0.0.1/', /multicast/],
    ['IPv6 loopback', () => `http://[::1]:${port}/`, /::1.*loopback/],
    ['IPv6 unspecified', () => `http://[::]:${port}/`, /unspecified/],
    ['IPv4-mapped IPv6 loopback', () => `http://[::ffff:127.0.0.1]:${port}/`, /loopback \(ipv4-mapped\)/],
    ['IPv4-mapped IPv6 metadata', () => 'http://[::ffff:169.254.169.254]/', /link-local \(ipv4-mapped\)/],
    ['fc00::/7', () => 'http://[fc00::1]/', /unique-local/],
    ['fd00::/8', () => 'http://[fd12:3456::1]/', /unique-local/],
    ['fe80::/10', () => 'http://[fe80::1]/', /link-local/],
    ['decimal IPv4', () => `http://2130706433:${port}/`, /127\.0\.0\.1.*loopback/],
    ['octal IPv4', () => `http://0177.0.0.1:${port}/`, /127\.0\.0\.1.*loopback/],
    ['hex IPv4', () => `http://0x7f.0.0.1:${port}/`, /127\.0\.0\.1.*loopback/],
    ['hex IPv4, one part', () => `http://0x7f000001:${port}/`, /loopback/],
    ['short IPv4', () => `http://127.1:${port}/`, /127\.0\.0\.1.*loopback/],
    ['name resolving to loopback', () => `http://localhost.test:${port}/`, /localhost\.test.*127\.0\.0\.1.*loopback/],
    ['name resolving to 10/8', () => 'http://internal.test/', /internal\.test.*10\.1\.2\.3.*private/],
    ['name resolving to metadata', () => 'http://metadata.test/', /metadata\.test.*link-local/],
    ['name resolving to a ULA', () => 'https://ula.test/', /ula\.test.*unique-local/],
    ['name resolving to public and private', () => 'http://mixed.test/', /mixed\.test.*10\.0\.0\.1.*private/],
  ];

  test.each(vectors)('refuses %s before any connect', async (_name, url, message) => {
    const lookup = jest.fn(stubLookup);
    const err = await provider({ allow: [] }, lookup)
      .execute(req('http.post', url(), { body: { a: 1 } }), ctx())
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect(err).toMatchObject({ code: 'ssrf_refused', message: expect.stringMatching(message) });
    expect(connects).toEqual([]);
    expect(sink.hits).toEqual([]);
  });

  test.each([
    ['10/8', 'http://10.0.0.1/'],
    ['metadata', 'http://169.254.169.254/latest/meta-data/'],
    ['IPv6 ULA', 'http://[fd00::1]/'],
    ['a name resolving to 10/8', 'http://internal.test/'],
    ['decimal loopback (not on the allow list as 127.0.0.2)', `http://2130706434/`],
  ])('a redirect from the allowed local server to %s is refused', async (_name, target) => {
    const err = await provider({ allow: ['127.0.0.1'] })
      .execute(req('http.get', `${base}/redirect?to=${encodeURIComponent(target)}`), ctx())
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ssrf_refused' });
    expect(sink.hits.map((s) => s.path)).toEqual([`/redirect?to=${encodeURIComponent(target)}`]);
    expect(connects.every((h) => h === '127.0.0.1')).toBe(true);
  });

  test('the allow list lets a listed host name through whatever it resolves to', async () => {
    const result = await provider({ allow: ['app.test'] }).execute(req('http.get', `http://app.test:${port}/named`), ctx());
    expect(result.detail).toEqual({ status: 200 });
    // The socket goes to the address the guard checked, and the Host header keeps the name.
    expect(connects).toEqual(['127.0.0.1']);
    expect(sink.hits[0].headers.host).toBe(`app.test:${port}`);
  });

  test('the allow list by CIDR', async () => {
    await expect(
      provider({ allow: ['127.0.0.0/8'] }).execute(req('http.get', `http://app.test:${port}/cidr`), ctx()),
    ).resolves.toBeDefined();
    await expect(provider({ allow: ['10.0.0.0/8'] }).execute(req('http.get', `http://app.test:${port}/cidr`), ctx())).rejects.toMatchObject(
      {
        code: 'ssrf_refused',
      },
    );
  });

  test('every new connection is checked again: a name rebound to another address is refused', async () => {
    closeAfterResponse = true; // forces a second connection, hence a second resolution
    let calls = 0;
    const rebinding: LookupFn = async () => [{ address: ++calls === 1 ? '127.0.0.1' : '127.0.0.2', family: 4 }];
    const p = provider({ allow: ['127.0.0.1/32'] }, rebinding);
    await expect(p.execute(req('http.get', `http://rebind.test:${port}/first`), ctx())).resolves.toBeDefined();
    await expect(p.execute(req('http.get', `http://rebind.test:${port}/second`), ctx())).rejects.toMatchObject({
      code: 'ssrf_refused',
      message: expect.stringMatching(/rebind\.test.*127\.0\.0\.2.*loopback/),
    });
    expect(calls).toBe(2);
    expect(connects).toEqual(['127.0.0.1']);
    expect(sink.hits.map((s) => s.path)).toEqual(['/first']);
  });
});
