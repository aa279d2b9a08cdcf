/**
 * Lightweight sinks on 127.0.0.1 for the bench. src/dev/mail-sink.ts parses and stores every message for a
 * person to read; here only the moment the SMTP server accepts DATA (its 250) counts, so the sink must not
 * add work of its own to the figure it measures.
 */
import { createServer, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { SMTPServer } from 'smtp-server';
import { LOOPBACK_SMTP } from '../src/dev/mail-sink';
import { nowMs } from './stats';

export interface BenchSmtpSink {
  port: number;
  /** messages accepted so far */
  count(): number;
  /** acceptance times (nowMs clock) from the moment this is called until the returned function stops it */
  record(): () => number[];
  /** distinct recipients accepted since the last reset (the fan-out's exactly-once check) */
  distinctRecipients(): number;
  /** RCPT attempts since the last reset, accepted or refused */
  rcptAttempts(): number;
  resetRecipients(): void;
  /** answer every RCPT with this code (4xx: a provider outage), or accept again (null) */
  refuseAll(code: number | null): void;
  /** resolves with the acceptance time (nowMs clock) of the first message to `address` */
  acceptedFor(address: string, timeoutMs: number): Promise<number>;
  close(): Promise<void>;
}

export async function startSmtpSink(): Promise<BenchSmtpSink> {
  let accepted = 0;
  let recording: number[] | undefined;
  let refuse: number | null = null;
  let rcpts = 0;
  const recipients = new Set<string>();
  const waiting = new Map<string, (t: number) => void>();
  const seen = new Map<string, number>();
  const server = new SMTPServer({
    ...LOOPBACK_SMTP,
    closeTimeout: 500,
    size: 1024 * 1024,
    onRcptTo(_address, _session, callback) {
      rcpts++;
      callback(refuse === null ? null : Object.assign(new Error('try again later'), { responseCode: refuse }));
    },
    onData(stream, session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        const t = nowMs();
        accepted++;
        recording?.push(t);
        for (const rcpt of session.envelope.rcptTo) {
          const address = rcpt.address.toLowerCase();
          recipients.add(address);
          const resolve = waiting.get(address);
          if (resolve) {
            waiting.delete(address);
            resolve(t);
          } else if (seen.size < 10_000) seen.set(address, t);
        }
        callback(null);
      });
    },
  });
  // Replies are small writes: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms to some commands.
  (server as unknown as { server: Server }).server.on('connection', (socket: import('node:net').Socket) => socket.setNoDelay(true));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = ((server as unknown as { server: Server }).server.address() as AddressInfo).port;
  return {
    port,
    count: () => accepted,
    record() {
      const times: number[] = [];
      recording = times;
      return () => {
        if (recording === times) recording = undefined;
        return times;
      };
    },
    distinctRecipients: () => recipients.size,
    rcptAttempts: () => rcpts,
    resetRecipients() {
      recipients.clear();
      rcpts = 0;
    },
    refuseAll(code) {
      refuse = code;
    },
    acceptedFor(address, timeoutMs) {
      const key = address.toLowerCase();
      const already = seen.get(key);
      if (already !== undefined) {
        seen.delete(key);
        return Promise.resolve(already);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiting.delete(key);
          reject(new Error(`no mail to ${address} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiting.set(key, (t) => {
          clearTimeout(timer);
          resolve(t);
        });
      });
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface BenchHttpSink {
  url: string;
  /** distinct Idempotency-Keys seen, and requests in all */
  distinct(): number;
  requests(): number;
  reset(): void;
  /** resolves when `n` distinct keys have arrived */
  waitForDistinct(n: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startHttpSink(): Promise<BenchHttpSink> {
  const keys = new Set<string>();
  let requests = 0;
  let waiter: { n: number; resolve: () => void } | undefined;
  const server = createServer((req, res) => {
    requests++;
    const key = req.headers['idempotency-key'];
    if (typeof key === 'string') keys.add(key);
    if (waiter && keys.size >= waiter.n) {
      waiter.resolve();
      waiter = undefined;
    }
    req.resume();
    res.writeHead(204).end();
  });
  server.keepAliveTimeout = 30_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    distinct: () => keys.size,
    requests: () => requests,
    reset() {
      keys.clear();
      requests = 0;
    },
    waitForDistinct(n, timeoutMs) {
      if (keys.size >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${keys.size} of ${n} requests within ${timeoutMs} ms`)), timeoutMs);
        waiter = { n, resolve: () => (clearTimeout(timer), resolve()) };
      });
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A TCP server on loopback that accepts and never answers: a Temporal that hangs rather than refuses (tests use it too). */
export async function startHungServer(): Promise<{ address: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    address: `127.0.0.1:${port}`,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
