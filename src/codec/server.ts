/**
 * The remote codec server the Temporal Web UI (and `temporal … --codec-endpoint`) calls to show encrypted
 * payloads decoded: POST /decode and POST /encode with { payloads: [{ metadata: { k: base64 }, data: base64 }] }.
 * The UI calls it from the browser, so it answers CORS for the UI's origin (preflight included).
 * It decrypts whatever it is sent: bind it to loopback (the default) or put it behind your auth.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Payload, PayloadCodec } from '@temporalio/common';

export interface CodecServerOptions {
  codec: PayloadCodec;
  /** default 8888; 0 picks a free port */
  port?: number;
  /** default 127.0.0.1 */
  host?: string;
  /** origins allowed to call from a browser (the Web UI's); "*" allows any. Default the dev UI on 8233. */
  corsOrigins?: string[];
  /** largest request body; default 16 MiB */
  maxBodyBytes?: number;
  log?: (line: string) => void;
}

export interface CodecServer {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

export interface JSONPayload {
  metadata?: Record<string, string>;
  data?: string;
}

export const DEFAULT_CODEC_PORT = 8888;
export const DEFAULT_CORS_ORIGINS = ['http://127.0.0.1:8233', 'http://localhost:8233'];
const ALLOW_HEADERS = 'content-type, x-namespace, authorization';

export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const host = options.host ?? '127.0.0.1';
  const origins = new Set((options.corsOrigins ?? DEFAULT_CORS_ORIGINS).map((o) => o.replace(/\/+$/, '')));
  const maxBody = options.maxBodyBytes ?? 16 * 1024 * 1024;
  const log = options.log ?? (() => undefined);

  const server = createServer((req, res) => {
    handle(req, res).catch((err) => {
      log(`codec server: ${(err as Error).message}`);
      if (!res.headersSent) send(res, 500, { error: 'internal error' });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const origin = req.headers.origin;
    if (origin !== undefined) {
      if (!origins.has('*') && !origins.has(origin)) return send(res, 403, { error: `origin ${origin} is not allowed (--cors-origin)` });
      res.setHeader('Access-Control-Allow-Origin', origins.has('*') ? '*' : origin);
      if (!origins.has('*')) res.setHeader('Access-Control-Allow-Credentials', 'true');
      res.setHeader('Vary', 'Origin');
    }
    const path = (req.url ?? '/').split('?')[0]!.replace(/\/+$/, '');
    const action = path === '/decode' ? 'decode' : path === '/encode' ? 'encode' : undefined;
    if (req.method === 'OPTIONS') {
      res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
      res.setHeader('Access-Control-Allow-Headers', ALLOW_HEADERS);
      res.setHeader('Access-Control-Max-Age', '600');
      // Chromium's Private Network Access preflight, for a UI served from a less private address.
      if (req.headers['access-control-request-private-network'] === 'true') res.setHeader('Access-Control-Allow-Private-Network', 'true');
      res.writeHead(204).end();
      return;
    }
    if (!action) return send(res, 404, { error: 'not found: POST /decode or /encode' });
    if (req.method !== 'POST') return send(res, 405, { error: 'use POST' });

    let body: { payloads?: JSONPayload[] };
    try {
      body = JSON.parse((await readBody(req, maxBody)).toString('utf8'));
    } catch (err) {
      return send(res, 400, { error: `bad request: ${(err as Error).message}` });
    }
    if (!body || !Array.isArray(body.payloads)) return send(res, 400, { error: 'bad request: expected { "payloads": [...] }' });
    let payloads: Payload[];
    try {
      payloads = await options.codec[action](body.payloads.map(fromJSON));
    } catch (err) {
      log(`codec server: ${action} failed: ${(err as Error).message}`);
      return send(res, 400, { error: (err as Error).message });
    }
    send(res, 200, { payloads: payloads.map(toJSON) });
  }

  const port = options.port ?? DEFAULT_CODEC_PORT;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const actual = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${actual}`;
  log(`codec server on ${url} (POST /decode, /encode; CORS ${[...origins].join(', ')})`);
  return {
    url,
    port: actual,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
}

function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        reject(new Error(`body over ${max} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

/** The remote codec JSON shape (bytes as base64) to a Payload, and back. */
export function fromJSON(p: JSONPayload): Payload {
  return {
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  };
}

export function toJSON(p: Payload): JSONPayload {
  return {
    metadata: Object.fromEntries(
      Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')]),
    ),
    data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
  };
}
