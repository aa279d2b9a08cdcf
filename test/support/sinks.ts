/**
 * The sinks that tests, the fault suite and the bench send to, all on 127.0.0.1:
 * - an SMTP server that counts what it accepts (per Message-ID, Subject and recipient) and can be told to
 *   refuse RCPT or DATA with any code, or to hold its answer to DATA until released;
 * - an HTTP server that answers each request as its script says (a status, Retry-After, or never) and
 *   records every request;
 * - a TCP server that accepts and never answers (a peer that hangs rather than refuses).
 * src/dev/mail-sink.ts is the one for a person to read mail in; these count, and with `keep: false` the
 * SMTP and HTTP sinks add no work of their own to the figures the bench measures.
 */
import { createServer as createHttpServer, type IncomingHttpHeaders, type Server as HttpServer } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Socket } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';

/** The sinks' clock (ms, monotonic): arrival times in `at`, `record()` and `acceptedFor()`. */
export function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/** The most of `times` (ms) in any window of `ms` milliseconds. */
export function busiestWindow(times: number[], ms: number): number {
  const sorted = [...times].sort((a, b) => a - b);
  let most = 0;
  for (let i = 0, j = 0; i < sorted.length; i++) {
    while (sorted[i] - sorted[j] >= ms) j++;
    most = Math.max(most, i - j + 1);
  }
  return most;
}

/** Deliveries counted by key (Message-ID or Idempotency-Key) and by label (Subject or HTTP path). */
export interface Tally {
  /** deliveries per key, counted when the sink accepted them */
  counts: Map<string, number>;
  /** what was delivered: the Subject or the HTTP path */
  labels: Set<string>;
  /** deliveries per label */
  labelCounts: Map<string, number>;
  /** deliveries in all */
  total(): number;
  /** deliveries beyond the first of each key */
  duplicates(): number;
}

function tally(from?: Pick<Tally, 'counts' | 'labels' | 'labelCounts'>) {
  const counts = from?.counts ?? new Map<string, number>();
  const labels = from?.labels ?? new Set<string>();
  const labelCounts = from?.labelCounts ?? new Map<string, number>();
  return {
    counts,
    labels,
    labelCounts,
    total: () => [...counts.values()].reduce((a, b) => a + b, 0),
    duplicates: () => [...counts.values()].reduce((a, n) => a + (n - 1), 0),
    add(key: string, label: string | undefined) {
      counts.set(key, (counts.get(key) ?? 0) + 1);
      if (label) {
        labels.add(label);
        labelCounts.set(label, (labelCounts.get(label) ?? 0) + 1);
      }
    },
    clear() {
      counts.clear();
      labels.clear();
      labelCounts.clear();
    },
  };
}

let unnamed = 0;

function within<T>(timeoutMs: number, what: () => string, wait: (done: (value: T) => void) => () => void): Promise<T> {
  return new Promise((resolve, reject) => {
    let stop: () => void = () => undefined;
    const timer = setTimeout(() => {
      stop();
      reject(new Error(what()));
    }, timeoutMs);
    stop = wait((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}

// ---------------------------------------------------------------------------------------------------
// SMTP

/** An SMTP answer other than 250: 4xx is transient, 5xx permanent. */
export interface SmtpReply {
  code: number;
  message?: string;
}

/** One message whose DATA arrived. */
export interface SinkMail {
  /** the Message-ID header, or `(none N)` */
  messageId: string;
  subject: string;
  /** envelope recipients, lower case */
  to: string[];
  raw: string;
  /** the message parsed by mailparser, with `parse: true` */
  parsed?: ParsedMail;
  /** when its DATA ended (nowMs clock) */
  at: number;
}

export interface SmtpSinkOptions {
  /** listen on this port (to come back on the same one after close); a free port by default */
  port?: number;
  /** answer RCPT TO for this address (lower case); undefined accepts */
  rcpt?: (address: string) => SmtpReply | undefined;
  /** answer DATA for this message; undefined accepts */
  data?: (mail: SinkMail) => SmtpReply | undefined;
  /** keep each message (raw text, Message-ID, Subject) and tally them; default true. Off, only count(), recipients and times. */
  keep?: boolean;
  /** parse each message with mailparser before answering (into `parsed`) */
  parse?: boolean;
  /** go on counting into an earlier sink's tally (a restart that must not forget what was delivered) */
  carry?: Pick<Tally, 'counts' | 'labels' | 'labelCounts'>;
  /** answer no DATA until release() (a provider that hangs after taking the message) */
  hold?: boolean;
}

export interface SmtpSink extends Tally {
  port: number;
  /** messages accepted (answered 250), in order; empty with `keep: false` */
  messages: SinkMail[];
  /** messages whose DATA arrived, answered or held */
  arrived: SinkMail[];
  /** messages accepted */
  count(): number;
  /** RCPT commands since the last reset, accepted or refused */
  rcptAttempts(): number;
  /** distinct recipients accepted since the last reset */
  distinctRecipients(): number;
  /** messages accepted per recipient (lower case) since the last reset */
  recipientCounts: Map<string, number>;
  /** forgets messages, recipients and RCPT attempts (not the tally) */
  reset(): void;
  /** answer every RCPT with this code, or accept again (null); `rcpt` in the options is asked after */
  refuseAll(code: number | null): void;
  /** answer no DATA until release() */
  hold(): void;
  /** answers the held DATA and every one after */
  release(): void;
  /** acceptance times (nowMs clock) from now until the returned function stops the recording */
  record(): () => number[];
  /** resolves with the acceptance time of the next message to `address`, or of the last one not yet asked for (nowMs clock) */
  acceptedFor(address: string, timeoutMs: number): Promise<number>;
  /** resolves with the messages once `n` have been accepted */
  waitForCount(n: number, timeoutMs: number): Promise<SinkMail[]>;
  close(): Promise<void>;
}

function smtpError(reply: SmtpReply): Error {
  return Object.assign(new Error(reply.message ?? (reply.code < 500 ? 'try again later' : 'rejected')), { responseCode: reply.code });
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const keep = options.keep ?? true;
  const counted = tally(options.carry);
  const messages: SinkMail[] = [];
  const arrived: SinkMail[] = [];
  const recipients = new Map<string, number>();
  const waitingFor = new Map<string, (t: number) => void>();
  const firstAt = new Map<string, number>();
  const held: Array<() => void> = [];
  let accepted = 0;
  let rcpts = 0;
  let refuse: number | null = null;
  let holding = options.hold ?? false;
  let recording: number[] | undefined;
  let countWaiter: { n: number; done: (m: SinkMail[]) => void } | undefined;

  const accept = (mail: SinkMail) => {
    accepted++;
    recording?.push(mail.at);
    if (keep) {
      messages.push(mail);
      counted.add(mail.messageId, mail.subject || undefined);
    }
    for (const address of mail.to) {
      recipients.set(address, (recipients.get(address) ?? 0) + 1);
      const resolve = waitingFor.get(address);
      if (resolve) {
        waitingFor.delete(address);
        resolve(mail.at);
      } else if (firstAt.size < 10_000) firstAt.set(address, mail.at);
    }
    if (countWaiter && accepted >= countWaiter.n) {
      countWaiter.done(messages);
      countWaiter = undefined;
    }
  };

  const server = new SMTPServer({
    secure: false,
    disabledCommands: ['STARTTLS', 'AUTH'],
    authOptional: true,
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 200,
    size: 4 * 1024 * 1024,
    onRcptTo(address, _session, callback) {
      rcpts++;
      if (refuse !== null) return callback(smtpError({ code: refuse }));
      const reply = options.rcpt?.(address.address.toLowerCase());
      callback(reply ? smtpError(reply) : null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => {
        if (keep) chunks.push(c);
      });
      stream.on('end', () => {
        const raw = keep ? Buffer.concat(chunks).toString('utf8') : '';
        const mail: SinkMail = {
          messageId: (keep && /^message-id:\s*(\S+)/im.exec(raw)?.[1]) || `(none ${++unnamed})`,
          subject: (keep && /^subject:\s*(.*)$/im.exec(raw)?.[1]?.trim()) || '',
          to: session.envelope.rcptTo.map((r) => r.address.toLowerCase()),
          raw,
          at: nowMs(),
        };
        const answer = () => {
          const reply = options.data?.(mail);
          if (reply) return callback(smtpError(reply));
          accept(mail);
          callback(null);
        };
        const settle = () => {
          arrived.push(mail);
          if (holding) held.push(answer);
          else answer();
        };
        if (!options.parse) return settle();
        simpleParser(raw).then(
          (parsed) => {
            mail.parsed = parsed;
            settle();
          },
          (err: Error) => callback(err),
        );
      });
    },
  });
  server.on('error', () => undefined);
  // Replies are small writes: without TCP_NODELAY, Nagle and delayed ACKs add ~40 ms to some commands.
  server.server.on('connection', (socket: Socket) => socket.setNoDelay(true));
  await new Promise<void>((resolve, reject) => {
    server.server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.server.address() as AddressInfo).port;

  return {
    port,
    messages,
    arrived,
    counts: counted.counts,
    labels: counted.labels,
    labelCounts: counted.labelCounts,
    total: counted.total,
    duplicates: counted.duplicates,
    count: () => accepted,
    rcptAttempts: () => rcpts,
    distinctRecipients: () => recipients.size,
    recipientCounts: recipients,
    reset() {
      messages.length = 0;
      arrived.length = 0;
      recipients.clear();
      rcpts = 0;
    },
    refuseAll(code) {
      refuse = code;
    },
    hold() {
      holding = true;
    },
    release() {
      holding = false;
      for (const answer of held.splice(0)) answer();
    },
    record() {
      const times: number[] = [];
      recording = times;
      return () => {
        if (recording === times) recording = undefined;
        return times;
      };
    },
    acceptedFor(address, timeoutMs) {
      const key = address.toLowerCase();
      const already = firstAt.get(key);
      if (already !== undefined) {
        firstAt.delete(key);
        return Promise.resolve(already);
      }
      return within(
        timeoutMs,
        () => `no mail to ${address} within ${timeoutMs} ms`,
        (done) => {
          waitingFor.set(key, done);
          return () => waitingFor.delete(key);
        },
      );
    },
    waitForCount(n, timeoutMs) {
      if (accepted >= n) return Promise.resolve(messages);
      return within(
        timeoutMs,
        () => `only ${accepted} of ${n} messages within ${timeoutMs} ms`,
        (done) => {
          countWaiter = { n, done };
          return () => (countWaiter = undefined);
        },
      );
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const answer of held.splice(0)) answer();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------------
// HTTP

/** One request as the sink received it. */
export interface HttpHit {
  method: string;
  /** the request target, with its leading slash: `/orders/1` */
  path: string;
  headers: IncomingHttpHeaders;
  /** the Idempotency-Key header, if any */
  key: string | undefined;
  /** the request body; empty with `keep: false` */
  body: string;
  /** when the request arrived (nowMs clock) */
  at: number;
  /** which request to this path it is, from 1 */
  n: number;
  /** the status it was answered (0 while hung) */
  status: number;
}

/** How to answer: a status, a status with headers and body, or `'hang'` (never answer). */
export type HttpAnswer = number | { status: number; headers?: Record<string, string>; body?: string | Buffer } | 'hang';

export interface HttpSinkOptions {
  /** answers each request (its body read); undefined or no script answers 200 `ok` */
  answer?: (hit: HttpHit) => HttpAnswer | undefined;
  /** keep every request and its body; default true. Off, only counts and Idempotency-Keys are kept. */
  keep?: boolean;
  /** keep-alive for idle connections, ms */
  keepAliveMs?: number;
}

export interface HttpSink extends Tally {
  /** `http://127.0.0.1:<port>` */
  url: string;
  port: number;
  /** every request, in arrival order, from its arrival (`body` and `status` once read and answered); empty with `keep: false` */
  hits: HttpHit[];
  /** requests to exactly this path */
  hitsTo(path: string): HttpHit[];
  /** requests read in full since the last reset */
  requests(): number;
  /** distinct Idempotency-Keys since the last reset */
  distinct(): number;
  /** forgets hits, keys and the tally */
  reset(): void;
  /** resolves when `n` distinct Idempotency-Keys have arrived */
  waitForDistinct(n: number, timeoutMs: number): Promise<void>;
  close(): Promise<void>;
}

export async function startHttpSink(options: HttpSinkOptions = {}): Promise<HttpSink> {
  const keep = options.keep ?? true;
  const counted = tally();
  const hits: HttpHit[] = [];
  const perPath = new Map<string, number>();
  const keys = new Set<string>();
  let requests = 0;
  let waiter: { n: number; done: () => void } | undefined;

  const server: HttpServer = createHttpServer((req, res) => {
    const path = req.url ?? '/';
    const n = (perPath.get(path) ?? 0) + 1;
    perPath.set(path, n);
    const header = req.headers['idempotency-key'];
    const key = typeof header === 'string' ? header : undefined;
    const hit: HttpHit = { method: req.method ?? 'GET', path, headers: req.headers, key, body: '', at: nowMs(), n, status: 0 };
    if (keep) hits.push(hit);
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => {
      if (keep) chunks.push(c);
    });
    req.on('end', () => {
      hit.body = keep ? Buffer.concat(chunks).toString('utf8') : '';
      requests++;
      if (key !== undefined) keys.add(key);
      if (waiter && keys.size >= waiter.n) {
        waiter.done();
        waiter = undefined;
      }
      const answer = options.answer?.(hit) ?? 200;
      if (answer === 'hang') return;
      const { status, headers, body } = typeof answer === 'number' ? { status: answer, headers: undefined, body: undefined } : answer;
      hit.status = status;
      if (status < 300) counted.add(key ?? `(none ${++unnamed})`, path);
      res.writeHead(status, headers).end(body ?? (status === 204 ? undefined : status < 300 ? 'ok' : 'no'));
    });
  });
  if (options.keepAliveMs !== undefined) server.keepAliveTimeout = options.keepAliveMs;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}`,
    port,
    hits,
    hitsTo: (path) => hits.filter((h) => h.path === path),
    requests: () => requests,
    distinct: () => keys.size,
    counts: counted.counts,
    labels: counted.labels,
    labelCounts: counted.labelCounts,
    total: counted.total,
    duplicates: counted.duplicates,
    reset() {
      hits.length = 0;
      perPath.clear();
      keys.clear();
      requests = 0;
      counted.clear();
    },
    waitForDistinct(n, timeoutMs) {
      if (keys.size >= n) return Promise.resolve();
      return within(
        timeoutMs,
        () => `only ${keys.size} of ${n} requests within ${timeoutMs} ms`,
        (done) => {
          waiter = { n, done: () => done(undefined) };
          return () => (waiter = undefined);
        },
      );
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------------
// TCP

/** A TCP server on loopback that accepts and never answers: a Temporal that hangs rather than refuses. */
export async function startHungServer(): Promise<{ address: string; port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = createTcpServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
