/**
 * http.get / post / put / delete / call through undici, behind the address guard of ./ssrf.
 *
 * The guard lives in the Agent's connector: the name is resolved there, every resolved address is
 * checked, and the socket is opened to the checked address itself. Checking a URL and then letting the
 * HTTP client resolve it again would leave a DNS-rebinding gap between check and connect.
 */
import { Agent, buildConnector, request as undiciRequest, type Dispatcher } from 'undici';
import type { HttpConfig } from '../config/types';
import type { EffectContext, EffectRequest, EffectResult, HttpRequest } from '../effects/types';
import { PermanentError, TransientError } from '../errors';
import { checkPayloadSize } from './limits';
import type { Provider } from './types';
import { assertAddressAllowed, isIpLiteral, resolveAllowedAddress, systemLookup, type LookupFn } from './ssrf';

export type { LookupFn } from './ssrf';

export interface HttpProviderOptions {
  /** DNS lookup used by the address guard; tests stub it to map names to addresses */
  lookup?: LookupFn;
}

const CAPABILITY_METHOD: Record<string, string | undefined> = {
  'http.get': 'GET',
  'http.post': 'POST',
  'http.put': 'PUT',
  'http.delete': 'DELETE',
  'http.call': undefined,
};
export const HTTP_CAPABILITIES: readonly string[] = Object.keys(CAPABILITY_METHOD);

const MAX_REDIRECTS = 5;
const MAX_BODY_BYTES = 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
// CONNECT would turn the worker into a tunnel; TRACE/TRACK echo headers back.
const ALLOWED_METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Credentials are for the origin they were written for, not for wherever it redirects.
const CROSS_ORIGIN_DROPPED = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** An HTTP response status that ends the effect: permanent for most 4xx, transient for 408/425/429/5xx. */
export class HttpStatusError extends PermanentError {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message, 'http_status');
    this.name = 'HttpStatusError';
  }
}

export class HttpTransientStatusError extends TransientError {
  constructor(
    message: string,
    readonly status: number,
    retryAfterMs?: number,
  ) {
    super(message, retryAfterMs, 'http_status');
    this.name = 'HttpTransientStatusError';
  }
}

export function createHttpProvider(config: HttpConfig, options: HttpProviderOptions = {}): Provider {
  const allow = config.allow ?? [];
  const timeoutMs = config.timeoutMs > 0 ? config.timeoutMs : DEFAULT_TIMEOUT_MS;
  const agent = createGuardedAgent(allow, options.lookup ?? systemLookup, timeoutMs);

  return {
    name: 'http',
    capabilities: HTTP_CAPABILITIES,
    async execute(request: EffectRequest, ctx: EffectContext): Promise<EffectResult> {
      if (!(request.capability in CAPABILITY_METHOD)) {
        throw new PermanentError(`http provider cannot serve capability ${request.capability}`);
      }
      const req = request as HttpRequest;
      const prepared = prepare(req, ctx);
      // A send must not outlive its attempt (src/courier): past the deadline, Temporal has retried it.
      const budget = ctx.deadline === undefined ? timeoutMs : Math.max(1, Math.min(timeoutMs, ctx.deadline - Date.now()));
      const status = await exchange(agent, prepared, allow, budget);
      return { capability: req.capability, detail: { status } };
    },
    async close() {
      await agent.close();
    },
  };
}

/** An Agent whose every new socket goes through the address guard. */
function createGuardedAgent(allow: readonly string[], lookup: LookupFn, timeoutMs: number): Agent {
  const connectTo = buildConnector({ timeout: timeoutMs });
  const guarded: buildConnector.connector = (opts, callback) => {
    resolveAllowedAddress(opts.hostname, allow, lookup)
      .then((resolved) => {
        connectTo(
          {
            ...opts,
            hostname: resolved.address,
            // TLS must still name and verify the host, not the address we pinned.
            servername: opts.servername ?? (isIpLiteral(opts.hostname) ? undefined : opts.hostname),
          },
          callback,
        );
      })
      // A throw from the connector itself must fail the request, not leave it waiting for its timeout.
      .catch((err: Error) => callback(err, null));
  };
  return new Agent({ connect: guarded, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
}

interface PreparedRequest {
  method: string;
  url: URL;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

function prepare(req: HttpRequest, ctx: EffectContext): PreparedRequest {
  const implied = CAPABILITY_METHOD[req.capability];
  const asked = req.method?.trim().toUpperCase();
  let method: string;
  if (implied === undefined) {
    if (!asked) throw new PermanentError('http.call: request.method is required');
    method = asked;
  } else {
    // The capability is what the sandbox granted; a request may not widen it with another method.
    if (asked && asked !== implied)
      throw new PermanentError(`${req.capability}: method ${asked} does not match the capability (${implied})`);
    method = implied;
  }
  if (!ALLOWED_METHODS.has(method)) throw new PermanentError(`${req.capability}: method ${JSON.stringify(method)} is not allowed`);

  const url = parseHttpUrl(req.url, `${req.capability}: url`);

  const headers: Record<string, string> = {};
  for (const [name, rawValue] of Object.entries(req.headers ?? {})) {
    const value = String(rawValue);
    if (/[\r\n\0]/.test(name)) throw new PermanentError(`${req.capability}: header name ${JSON.stringify(name)} contains CR, LF or NUL`);
    if (!HEADER_NAME.test(name)) throw new PermanentError(`${req.capability}: header name ${JSON.stringify(name)} is not a valid token`);
    if (/[\r\n\0]/.test(value)) throw new PermanentError(`${req.capability}: value of header ${name} contains CR, LF or NUL`);
    const lower = name.toLowerCase();
    // The Host must be the URL's, or allow-listing by host name would mean nothing.
    if (lower === 'host') throw new PermanentError(`${req.capability}: header Host may not be set; it follows the url`);
    if (lower === 'idempotency-key') continue;
    headers[lower] = value;
  }
  if (/[\r\n\0]/.test(ctx.idempotencyKey)) throw new PermanentError('idempotency key contains CR, LF or NUL');
  headers['idempotency-key'] = ctx.idempotencyKey;

  let body: string | Uint8Array | undefined;
  if (req.body === undefined || req.body === null) {
    body = undefined;
  } else if (typeof req.body === 'string' || req.body instanceof Uint8Array) {
    body = req.body;
  } else {
    body = JSON.stringify(req.body);
    if (!('content-type' in headers)) headers['content-type'] = 'application/json';
  }
  if (body !== undefined)
    checkPayloadSize(`${req.capability}: the request body`, typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength);
  return { method, url, headers, body };
}

function parseHttpUrl(text: string, what: string, base?: URL): URL {
  let url: URL;
  try {
    // WHATWG parsing also turns 2130706433, 0177.0.0.1, 0x7f.1 and 127.1 into 127.0.0.1.
    url = new URL(text, base);
  } catch {
    throw new PermanentError(`${what} is not a valid URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new PermanentError(`${what} must be http or https, not ${url.protocol.replace(/:$/, '')}`);
  }
  // Userinfo would be sent as credentials and end up in history with the URL.
  if (url.username || url.password) throw new PermanentError(`${what} must not carry credentials; use an Authorization header`);
  return url;
}

/** A URL fit for error messages and history: no query string, no fragment. */
function describe(method: string, url: URL): string {
  return `${method} ${url.origin}${url.pathname}`;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** Sends the request, following redirects by hand so that every hop is re-checked. Returns the final status. */
async function exchange(agent: Dispatcher, first: PreparedRequest, allow: readonly string[], timeoutMs: number): Promise<number> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(), timeoutMs);
  let current = first;
  try {
    for (let redirects = 0; ; redirects++) {
      // An address literal is refused here already, so its error never depends on the connector path.
      if (isIpLiteral(current.url.hostname))
        assertAddressAllowed(current.url.hostname, current.url.hostname.replace(/^\[|\]$/g, ''), allow);

      const res = await undiciRequest(current.url, {
        dispatcher: agent,
        method: current.method as Dispatcher.HttpMethod,
        headers: current.headers,
        body: current.body,
        signal: deadline.signal,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
      });
      const location = headerValue(res.headers['location']);
      if (REDIRECTS.has(res.statusCode) && location !== undefined) {
        await readCapped(res.body);
        if (redirects >= MAX_REDIRECTS) {
          throw new PermanentError(`${describe(current.method, current.url)}: more than ${MAX_REDIRECTS} redirects`);
        }
        current = redirectTarget(current, res.statusCode, location);
        continue;
      }
      await readCapped(res.body);
      classifyStatus(current, res.statusCode, headerValue(res.headers['retry-after']));
      return res.statusCode;
    }
  } catch (err) {
    throw classifyFailure(err, current, deadline.signal.aborted, timeoutMs);
  } finally {
    clearTimeout(timer);
  }
}

function headerValue(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

function redirectTarget(from: PreparedRequest, status: number, location: string): PreparedRequest {
  const url = parseHttpUrl(location, `redirect from ${describe(from.method, from.url)}`, from.url);
  const headers = { ...from.headers };
  if (url.origin !== from.url.origin) for (const h of CROSS_ORIGIN_DROPPED) delete headers[h];
  // 303 always becomes GET; 301/302 turn POST into GET as every browser does; 307/308 keep everything.
  const toGet = (status === 303 && from.method !== 'HEAD') || ((status === 301 || status === 302) && from.method === 'POST');
  if (!toGet) return { ...from, url, headers };
  delete headers['content-type'];
  delete headers['content-length'];
  return { method: 'GET', url, headers };
}

/** Reads at most 1 MiB so that the connection can be reused, and drops the rest. */
async function readCapped(body: Dispatcher.ResponseData['body']): Promise<void> {
  let total = 0;
  for await (const chunk of body) {
    total += (chunk as Buffer).length;
    if (total >= MAX_BODY_BYTES) {
      body.destroy();
      return;
    }
  }
}

function classifyStatus(req: PreparedRequest, status: number, retryAfter: string | undefined): void {
  if (status < 400) return;
  const what = `${describe(req.method, req.url)} answered ${status}`;
  if (status === 408 || status === 425 || status === 429 || status >= 500) {
    throw new HttpTransientStatusError(what, status, parseRetryAfter(retryAfter));
  }
  throw new HttpStatusError(what, status);
}

/** Retry-After as milliseconds from now: delta-seconds or an HTTP date; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const PERMANENT_UNDICI_CODES = new Set(['UND_ERR_INVALID_ARG', 'UND_ERR_NOT_SUPPORTED', 'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH']);
const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

function classifyFailure(err: unknown, req: PreparedRequest, timedOut: boolean, timeoutMs: number): Error {
  if (err instanceof PermanentError || err instanceof TransientError) return err;
  const what = describe(req.method, req.url);
  const code = (err as { code?: unknown })?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (timedOut || (typeof code === 'string' && TIMEOUT_CODES.has(code))) {
    return new TransientError(`${what}: timed out after ${timeoutMs} ms`, undefined, 'timeout');
  }
  if (typeof code === 'string' && PERMANENT_UNDICI_CODES.has(code)) {
    return new PermanentError(`${what}: invalid request: ${message}`);
  }
  // Connection refused or reset, DNS failure, socket closed: the next attempt may well succeed.
  return new TransientError(`${what}: ${typeof code === 'string' ? code + ' ' : ''}${message}`, undefined, 'network');
}
