/**
 * A pooled SMTP client (RFC 5321) for the email provider: up to `maxConnections` connections, each running
 * one transaction at a time from a shared queue. With PIPELINING (RFC 2920) MAIL FROM, every RCPT TO and
 * DATA go in one write and their replies are read in order, then the message (already dot-stuffed, see
 * ./message) in one more: two round trips a message. Without it, one command at a time.
 *
 * Errors carry what the provider's classification reads: `code` (EENVELOPE for MAIL/RCPT refusals,
 * EMESSAGE for a refused DATA or message, EAUTH, ETLS, ECONNECTION, ETIMEDOUT, ESOCKET, EPROTOCOL),
 * `responseCode` and `response` when the server answered. No error, log or result holds the password.
 */
import net from 'node:net';
import os from 'node:os';
import tls from 'node:tls';
import type { ComposedMessage } from './message';

export interface SmtpClientOptions {
  host: string;
  port: number;
  /** TLS from the start (smtps); otherwise STARTTLS when the server offers it */
  secure?: boolean;
  user?: string;
  password?: string;
  maxConnections: number;
  /** messages a connection sends before it is replaced */
  maxMessages?: number;
  connectionTimeout: number;
  greetingTimeout: number;
  socketTimeout: number;
  /** EHLO name: the host's name when it is a FQDN, else [127.0.0.1] */
  name?: string;
  /** extra TLS options (a test's own CA); certificates are always verified */
  tls?: Omit<tls.ConnectionOptions, 'socket' | 'rejectUnauthorized'>;
}

export interface SendResult {
  accepted: number;
  rejected: number;
}

export class SmtpError extends Error {
  code: string;
  responseCode?: number;
  response?: string;
  command?: string;
  /** the connection failed before the server answered anything of this transaction */
  beforeReply?: boolean;

  constructor(message: string, code: string, response?: string, command?: string) {
    super(response ? `${message}: ${response}` : message);
    this.name = 'SmtpError';
    this.code = code;
    if (response) {
      this.response = response;
      const n = Number(response.slice(0, 3));
      if (n >= 200 && n < 600) this.responseCode = n;
    }
    if (command) this.command = command;
  }
}

interface Reply {
  code: number;
  /** the whole reply, lines joined by \n */
  text: string;
}

interface Waiter {
  n: number;
  got: Reply[];
  resolve: (replies: Reply[]) => void;
  reject: (err: SmtpError) => void;
}

const MAX_REPLY = 64 * 1024;
/** what may stand between MAIL FROM:< and > (or RCPT TO:<): no line break, NUL, angle bracket, nor a space outside quotes */
const ENVELOPE_ADDRESS = /^(?:"[^"\\\r\n\0]*(?:\\.[^"\\\r\n\0]*)*"|[^\s"<>\0])+@[^\s<>\0]+$/;

function defaultName(): string {
  const host = os.hostname();
  return host.includes('.') ? host : '[127.0.0.1]';
}

/** One SMTP session: opened once, then one transaction at a time. */
class Connection {
  /** messages accepted by the server on this connection */
  sent = 0;
  /** transactions started (accepted or not) */
  transactions = 0;
  dead = false;
  private socket!: net.Socket;
  private buffer = '';
  private lines: string[] = [];
  private waiter: Waiter | undefined;
  private extensions = new Set<string>();
  private authMethods = new Set<string>();
  private sizeLimit = 0;
  private secure: boolean;
  private onData = (chunk: string) => this.read(chunk);
  private onError = (err: NodeJS.ErrnoException) => this.fail(new SmtpError(err.message, this.errorCode(err)));
  private onClose = () => this.fail(new SmtpError('Connection closed unexpectedly', 'ECONNECTION'));
  /** an idle connection of the pool says QUIT; one in a transaction or opening has failed */
  private onTimeout = () => (this.busy ? this.fail(new SmtpError('Timeout: the socket was idle too long', 'ETIMEDOUT')) : this.quit());
  /** opening or in a transaction: a reply nobody waits for yet is kept for the next expect() */
  private busy = true;
  private early: Reply[] = [];
  private connected = false;
  private upgrading = false;
  /** the server answered something of the current transaction */
  private answered = true;

  constructor(
    private readonly options: SmtpClientOptions,
    private readonly gone: (conn: Connection) => void,
  ) {
    this.secure = options.secure === true;
  }

  /** Connect, greeting, EHLO (or HELO), STARTTLS when offered, AUTH when a user is configured. */
  async open(): Promise<void> {
    const { host, port } = this.options;
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        this.pendingOpen = reject;
        timer = setTimeout(() => this.fail(new SmtpError('Connection timeout', 'ETIMEDOUT')), this.options.connectionTimeout);
        const done = () => {
          this.connected = true;
          this.pendingOpen = undefined;
          resolve();
        };
        const socket = this.secure
          ? tls.connect({ ...this.options.tls, ...serverName(host), port, rejectUnauthorized: true }, done)
          : net.connect({ host, port }, done);
        this.attach(socket);
      });
      clearTimeout(timer);
      timer = setTimeout(() => this.fail(new SmtpError('Greeting never received', 'ETIMEDOUT')), this.options.greetingTimeout);
      const [greeting] = await this.expect(1);
      clearTimeout(timer);
      if (greeting.code !== 220) {
        throw new SmtpError('Invalid greeting', greeting.code === 421 ? 'ECONNECTION' : 'EPROTOCOL', greeting.text, 'CONN');
      }
      await this.hello();
      if (!this.secure && this.extensions.has('STARTTLS')) {
        this.write('STARTTLS\r\n');
        const [reply] = await this.expect(1);
        if (reply.code !== 220) throw new SmtpError('Error upgrading connection with STARTTLS', 'ETLS', reply.text, 'STARTTLS');
        await this.upgrade();
        await this.hello();
      }
      if (this.options.user !== undefined) await this.authenticate();
      this.busy = false;
    } catch (err) {
      clearTimeout(timer);
      this.destroy();
      throw err;
    }
  }

  private pendingOpen: ((err: SmtpError) => void) | undefined;

  /** A socket error before the session is up: a refused or broken connect, or (smtps) a failed handshake. */
  private errorCode(err: NodeJS.ErrnoException): string {
    if (this.connected) return 'ESOCKET';
    return this.secure && !err.syscall ? 'ETLS' : 'ECONNECTION';
  }

  private attach(socket: net.Socket): void {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.setNoDelay(true);
    socket.setTimeout(this.options.socketTimeout);
    socket.on('data', this.onData);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    socket.on('timeout', this.onTimeout);
  }

  private detach(socket: net.Socket): void {
    socket.off('data', this.onData);
    socket.off('close', this.onClose);
    socket.off('timeout', this.onTimeout);
    socket.setTimeout(0);
    // the error listener stays: an error of the raw socket under TLS must not go unhandled
  }

  private async upgrade(): Promise<void> {
    const plain = this.socket;
    this.detach(plain);
    this.upgrading = true;
    await new Promise<void>((resolve, reject) => {
      // a handshake that never ends is a connect that never ends
      const timer = setTimeout(() => {
        failed(new Error('handshake timeout'));
        secure.destroy();
      }, this.options.connectionTimeout);
      const secure = tls.connect({ ...this.options.tls, ...serverName(this.options.host), socket: plain, rejectUnauthorized: true }, () => {
        clearTimeout(timer);
        secure.off('error', failed);
        this.upgrading = false;
        this.secure = true;
        this.attach(secure);
        resolve();
      });
      const failed = (err: Error) => {
        clearTimeout(timer);
        this.upgrading = false;
        reject(new SmtpError(`Error initiating TLS - ${err.message}`, 'ETLS', undefined, 'STARTTLS'));
      };
      secure.on('error', failed);
    });
  }

  private async hello(): Promise<void> {
    const name = this.options.name ?? defaultName();
    this.write(`EHLO ${name}\r\n`);
    let [reply] = await this.expect(1);
    this.extensions.clear();
    this.authMethods.clear();
    if (reply.code === 421) throw new SmtpError('Server terminates connection', 'ECONNECTION', reply.text, 'EHLO');
    if (reply.code !== 250) {
      this.write(`HELO ${name}\r\n`);
      [reply] = await this.expect(1);
      if (reply.code !== 250) throw new SmtpError('Invalid HELO', 'EPROTOCOL', reply.text, 'HELO');
      return;
    }
    const lines = reply.text.split('\n');
    for (let i = 1; i < lines.length; i++) {
      const words = lines[i].slice(4).trim().toUpperCase().split(/[ =]+/);
      const keyword = words[0];
      if (keyword === '') continue;
      this.extensions.add(keyword);
      if (keyword === 'AUTH') for (let j = 1; j < words.length; j++) this.authMethods.add(words[j]);
      if (keyword === 'SIZE' && Number(words[1]) > 0) this.sizeLimit = Number(words[1]);
    }
  }

  private async authenticate(): Promise<void> {
    if (!this.extensions.has('AUTH')) return; // as nodemailer: a server that offers no AUTH is sent to without it
    const user = this.options.user ?? '';
    const password = this.options.password ?? '';
    if (this.authMethods.has('PLAIN')) {
      this.write(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`, 'utf8').toString('base64')}\r\n`);
      const [reply] = await this.expect(1);
      if (reply.code !== 235) throw new SmtpError('Invalid login', 'EAUTH', reply.text, 'AUTH PLAIN');
      return;
    }
    if (this.authMethods.has('LOGIN')) {
      this.write('AUTH LOGIN\r\n');
      let [reply] = await this.expect(1);
      if (reply.code !== 334) throw new SmtpError('Invalid login sequence', 'EAUTH', reply.text, 'AUTH LOGIN');
      this.write(Buffer.from(user, 'utf8').toString('base64') + '\r\n');
      [reply] = await this.expect(1);
      if (reply.code !== 334) throw new SmtpError('Invalid login sequence', 'EAUTH', reply.text, 'AUTH LOGIN');
      this.write(Buffer.from(password, 'utf8').toString('base64') + '\r\n');
      [reply] = await this.expect(1);
      if (reply.code !== 235) throw new SmtpError('Invalid login', 'EAUTH', reply.text, 'AUTH LOGIN');
      return;
    }
    throw new SmtpError('The server offers no AUTH method this client knows (PLAIN, LOGIN)', 'EAUTH', undefined, 'AUTH');
  }

  /** One transaction; a refusal leaves the connection usable (RSET), a broken connection is dead. */
  async transact(message: ComposedMessage): Promise<SendResult> {
    this.transactions++;
    this.answered = false;
    this.busy = true;
    try {
      return await this.transaction(message);
    } finally {
      this.busy = false;
    }
  }

  private async transaction(message: ComposedMessage): Promise<SendResult> {
    if (message.smtpUtf8 && !this.extensions.has('SMTPUTF8')) {
      throw new SmtpError('The server does not support SMTPUTF8, which a non-ASCII address needs', 'EENVELOPE', undefined, 'MAIL FROM');
    }
    if (!ENVELOPE_ADDRESS.test(message.from) || !message.recipients.every((r) => ENVELOPE_ADDRESS.test(r))) {
      throw new SmtpError('An envelope address holds a character SMTP cannot carry', 'EENVELOPE', undefined, 'MAIL FROM');
    }
    if (this.sizeLimit > 0 && message.data.length > this.sizeLimit) {
      throw new SmtpError(`Message size larger than the server allows (${this.sizeLimit})`, 'EMESSAGE', undefined, 'MAIL FROM');
    }
    let params = '';
    if (message.eightBit && this.extensions.has('8BITMIME')) params += ' BODY=8BITMIME';
    if (message.smtpUtf8) params += ' SMTPUTF8';
    const mail = `MAIL FROM:<${message.from}>${params}\r\n`;
    const n = message.recipients.length;
    let accepted = 0;
    let deferred: Reply | undefined;
    let lastRefusal: Reply | undefined;
    /** one RCPT's answer: accepted, or a refusal (the first 4xx is the one an all-refused envelope reports) */
    const tally = (r: Reply) => {
      if (r.code >= 200 && r.code < 300) accepted++;
      else {
        lastRefusal = r;
        if (r.code < 500 && !deferred) deferred = r;
      }
    };
    try {
      let dataReply: Reply;
      if (this.extensions.has('PIPELINING')) {
        let commands = mail;
        for (let i = 0; i < n; i++) commands += `RCPT TO:<${message.recipients[i]}>\r\n`;
        this.write(commands + 'DATA\r\n');
        const replies = await this.expect(n + 2);
        for (let i = 1; i <= n; i++) tally(replies[i]);
        dataReply = replies[n + 1];
        const refused = envelopeError(replies[0], accepted, deferred ?? lastRefusal);
        if (refused) {
          // RFC 2920: a DATA the server took despite the refusals gets an empty message, which it refuses
          if (dataReply.code === 354) {
            this.write('.\r\n');
            await this.expect(1);
          }
          throw refused;
        }
      } else {
        this.write(mail);
        const [mailReply] = await this.expect(1);
        const refusedMail = envelopeError(mailReply, 1, undefined);
        if (refusedMail) throw refusedMail;
        for (let i = 0; i < n; i++) {
          this.write(`RCPT TO:<${message.recipients[i]}>\r\n`);
          tally((await this.expect(1))[0]);
        }
        const refused = envelopeError(mailReply, accepted, deferred ?? lastRefusal);
        if (refused) throw refused;
        this.write('DATA\r\n');
        [dataReply] = await this.expect(1);
      }
      if (dataReply.code !== 354) throw new SmtpError('Data command failed', 'EMESSAGE', dataReply.text, 'DATA');
      this.write(message.data);
      const [done] = await this.expect(1);
      if (done.code < 200 || done.code >= 300) throw new SmtpError('Message failed', 'EMESSAGE', done.text, 'DATA');
      this.sent++;
      return { accepted, rejected: n - accepted };
    } catch (err) {
      if (!this.dead) await this.reset();
      throw err;
    }
  }

  /** RSET after a failed transaction; a connection that cannot reset is closed. */
  private async reset(): Promise<void> {
    try {
      this.write('RSET\r\n');
      const [reply] = await this.expect(1);
      if (reply.code !== 250) this.quit();
    } catch {
      this.destroy();
    }
  }

  /** QUIT, then close; destroyed if the server does not close within a second. */
  quit(): void {
    if (this.dead) return;
    this.markDead();
    try {
      this.socket.write('QUIT\r\n');
      this.socket.end();
    } catch {
      // already closing
    }
    const socket = this.socket;
    setTimeout(() => socket.destroy(), 1000).unref();
  }

  destroy(): void {
    this.markDead();
    this.socket?.destroy();
  }

  private markDead(): void {
    if (this.dead) return;
    this.dead = true;
    this.gone(this);
  }

  private write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** The next n replies, in order. */
  private expect(n: number): Promise<Reply[]> {
    if (this.dead) return Promise.reject(new SmtpError('Connection closed', 'ECONNECTION'));
    const got = this.early.length === 0 ? [] : this.early.splice(0, n);
    if (got.length === n) return Promise.resolve(got);
    return new Promise((resolve, reject) => {
      this.waiter = { n, got, resolve, reject };
    });
  }

  private read(chunk: string): void {
    this.buffer = this.buffer === '' ? chunk : this.buffer + chunk;
    let start = 0;
    for (;;) {
      const end = this.buffer.indexOf('\n', start);
      if (end < 0) break;
      const line = this.buffer.charCodeAt(end - 1) === 13 ? this.buffer.slice(start, end - 1) : this.buffer.slice(start, end);
      start = end + 1;
      this.lines.push(line);
      if (line.length < 4 || line.charCodeAt(3) !== 45 /* '-' */) {
        const text = this.lines.length === 1 ? line : this.lines.join('\n');
        this.lines = [];
        this.reply({ code: Number(line.slice(0, 3)) || 0, text });
        if (this.dead) return;
      }
    }
    this.buffer = start === 0 ? this.buffer : this.buffer.slice(start);
    if (this.buffer.length > MAX_REPLY || this.lines.length > 1000) {
      this.fail(new SmtpError('Server response exceeds maximum allowed size', 'EPROTOCOL'));
    }
  }

  private reply(reply: Reply): void {
    const waiter = this.waiter;
    if (!waiter) {
      if (this.busy) {
        // the reply to a command already written, read before its expect()
        this.answered = true;
        this.early.push(reply);
        return;
      }
      // unsolicited on an idle connection: a 421 (the server is going away), or nonsense
      this.fail(new SmtpError('Unexpected reply', reply.code === 421 ? 'ECONNECTION' : 'EPROTOCOL', reply.text, 'CONN'));
      return;
    }
    this.answered = true;
    waiter.got.push(reply);
    if (waiter.got.length === waiter.n) {
      this.waiter = undefined;
      waiter.resolve(waiter.got);
    }
  }

  /** A broken connection: whoever waits gets the error; the pool forgets it. */
  private fail(err: SmtpError): void {
    if (this.upgrading && err.code === 'ESOCKET') return; // reported by the TLS upgrade itself
    const waiter = this.waiter;
    const opening = this.pendingOpen;
    this.waiter = undefined;
    this.pendingOpen = undefined;
    if (waiter && !this.answered) err.beforeReply = true;
    this.destroy();
    if (opening) opening(err);
    if (waiter) waiter.reject(err);
  }
}

function serverName(host: string): { host: string; servername?: string } {
  return net.isIP(host) ? { host } : { host, servername: host };
}

function envelopeError(mailReply: Reply, accepted: number, refusal: Reply | undefined): SmtpError | undefined {
  if (mailReply.code < 200 || mailReply.code >= 300) return new SmtpError('Mail command failed', 'EENVELOPE', mailReply.text, 'MAIL FROM');
  if (accepted === 0) return new SmtpError("Can't send mail - all recipients were rejected", 'EENVELOPE', refusal?.text, 'RCPT TO');
  return undefined;
}

interface Job {
  message: ComposedMessage;
  resolve: (result: SendResult) => void;
  reject: (err: Error) => void;
  retried: boolean;
}

/** The pool: a queue of messages, up to maxConnections connections, each replaced after maxMessages. */
export class SmtpPool {
  private readonly queue: Job[] = [];
  private readonly idle: Connection[] = [];
  private readonly connections = new Set<Connection>();
  private closed = false;
  private allClosed: (() => void) | undefined;
  private readonly maxMessages: number;

  constructor(private readonly options: SmtpClientOptions) {
    this.maxMessages = options.maxMessages ?? 100;
  }

  /** Connections open or opening (for tests). */
  get size(): number {
    return this.connections.size;
  }

  send(message: ComposedMessage): Promise<SendResult> {
    if (this.closed) return Promise.reject(new SmtpError('The SMTP pool is closed', 'ECONNECTION'));
    return new Promise((resolve, reject) => {
      this.queue.push({ message, resolve, reject, retried: false });
      this.pump();
    });
  }

  /** Refuses what is queued, QUITs idle connections, and busy ones when their transaction ends. */
  close(): Promise<void> {
    this.closed = true;
    for (const job of this.queue.splice(0)) job.reject(new SmtpError('The SMTP pool is closed', 'ECONNECTION'));
    for (const conn of this.idle.splice(0)) conn.quit();
    if (this.connections.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 2000);
      timer.unref();
      this.allClosed = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  private pump(): void {
    while (this.queue.length > 0) {
      const conn = this.idle.pop();
      if (conn) {
        this.run(conn, this.queue.shift()!);
        continue;
      }
      if (this.connections.size >= this.options.maxConnections) return;
      this.openFor(this.queue.shift()!);
    }
  }

  private openFor(job: Job): void {
    const conn = new Connection(this.options, (c) => this.forget(c));
    this.connections.add(conn);
    conn.open().then(
      () => this.run(conn, job),
      (err: Error) => {
        job.reject(err);
        this.pump();
      },
    );
  }

  private run(conn: Connection, job: Job): void {
    const reused = conn.transactions > 0;
    conn.transact(job.message).then(
      (result) => {
        job.resolve(result);
        this.release(conn);
      },
      (err: SmtpError) => {
        // a reused connection the server had closed before it read anything: nothing was sent, try once more
        if (conn.dead && reused && err.beforeReply && !job.retried && !this.closed) {
          job.retried = true;
          this.queue.unshift(job);
        } else {
          job.reject(err);
        }
        this.release(conn);
      },
    );
  }

  private release(conn: Connection): void {
    if (!conn.dead) {
      if (this.closed || conn.sent >= this.maxMessages) conn.quit();
      else this.idle.push(conn);
    }
    if (!this.closed) this.pump();
  }

  private forget(conn: Connection): void {
    this.connections.delete(conn);
    const i = this.idle.indexOf(conn);
    if (i >= 0) this.idle.splice(i, 1);
    if (this.closed && this.connections.size === 0) this.allClosed?.();
    else if (!this.closed && this.queue.length > 0) setImmediate(() => this.pump());
  }
}
