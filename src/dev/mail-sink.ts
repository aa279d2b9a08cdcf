import { EventEmitter } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { simpleParser, type AddressObject } from 'mailparser';
import { SMTPServer, type SMTPServerAddress, type SMTPServerOptions } from 'smtp-server';

/** One message as the sink received it. */
export interface CapturedMail {
  messageId: string;
  /** Envelope sender (MAIL FROM), falling back to the From header. */
  from: string;
  /** Envelope recipients (RCPT TO): who the mail was actually delivered to, Bcc included. */
  to: string[];
  /** Addresses in the To header, which may differ from the envelope. */
  headerTo: string[];
  subject: string;
  text: string;
  html: string;
  receivedAt: string;
  /** The raw message, saved as .eml so a person can open it. */
  file: string;
}

export interface ReplyOptions {
  /** Which command gets the reply. Default 'rcpt'. */
  at?: 'rcpt' | 'data';
  /** Only for these recipients (exact address, case-insensitive, or a pattern). Default: everyone. */
  recipient?: string | RegExp;
  /** Reject this many times, then accept again (for retry tests). Default: until changed. */
  times?: number;
  message?: string;
}

export interface MailSinkOptions {
  smtpPort?: number;
  webPort?: number;
  /** Where .eml files go; a fresh temp directory by default. */
  dir?: string;
}

export interface MailSink {
  smtpHost: '127.0.0.1';
  smtpPort: number;
  webUrl: string;
  dir: string;
  messages(): CapturedMail[];
  /** Resolves with all messages as soon as the predicate holds over them; rejects after timeoutMs. */
  waitFor(predicate: (messages: CapturedMail[]) => boolean, timeoutMs: number): Promise<CapturedMail[]>;
  /** Answer RCPT or DATA with this SMTP code (4xx transient, 5xx permanent); null accepts again. */
  setReply(code: number | null, options?: ReplyOptions): void;
  /** How many commands the sink has refused because of setReply. */
  rejections(): number;
  close(): Promise<void>;
}

interface ActiveReply {
  code: number;
  at: 'rcpt' | 'data';
  recipient?: string | RegExp;
  remaining: number;
  message: string;
}

/** A local SMTP server that keeps every message it is sent, plus a small web page to read them. */
/**
 * An SMTP server on loopback for development and tests: plain text (clients must not be pushed into
 * STARTTLS), any login accepted, no reverse DNS, quiet.
 */
export const LOOPBACK_SMTP: SMTPServerOptions = {
  secure: false,
  disabledCommands: ['STARTTLS'],
  authOptional: true,
  allowInsecureAuth: true,
  disableReverseLookup: true,
  logger: false,
};

export async function startMailSink(options: MailSinkOptions = {}): Promise<MailSink> {
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'forge-mail-')));
  await mkdir(dir, { recursive: true });
  const captured: CapturedMail[] = [];
  const events = new EventEmitter();
  events.setMaxListeners(0);
  let reply: ActiveReply | undefined;
  let rejected = 0;
  let received = 0;

  /** The SMTP error for this command, if a configured reply applies (and uses up one of its times). */
  const refusal = (at: 'rcpt' | 'data', recipients: string[]): Error | undefined => {
    if (!reply || reply.at !== at || !recipients.some((address) => matches(reply!.recipient, address))) return undefined;
    const error = Object.assign(new Error(reply.message), { responseCode: reply.code });
    rejected += 1;
    reply.remaining -= 1;
    if (reply.remaining <= 0) reply = undefined;
    return error;
  };

  const smtp = new SMTPServer({
    ...LOOPBACK_SMTP,
    closeTimeout: 1000,
    onAuth(auth, _session, callback) {
      callback(null, { user: auth.username ?? 'anonymous' });
    },
    onRcptTo(address: SMTPServerAddress, _session, callback) {
      callback(refusal('rcpt', [address.address]) ?? null);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('error', (error: Error) => callback(error));
      stream.on('end', () => {
        const recipients = session.envelope.rcptTo.map((rcpt) => rcpt.address);
        const refused = refusal('data', recipients);
        if (refused) return callback(refused);
        const sender = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        store(Buffer.concat(chunks), sender, recipients).then(
          () => callback(null),
          (error: Error) => callback(Object.assign(error, { responseCode: 451 })),
        );
      });
    },
  });

  const store = async (raw: Buffer, sender: string, recipients: string[]): Promise<void> => {
    const receivedAt = new Date();
    const sequence = ++received;
    const file = join(dir, `${String(sequence).padStart(4, '0')}-${receivedAt.toISOString().replace(/[:.]/g, '-')}.eml`);
    await writeFile(file, raw);
    const parsed = await simpleParser(raw);
    captured.push({
      messageId: parsed.messageId ?? `<local-${sequence}@forge-mail-sink>`,
      from: sender || addresses(parsed.from)[0] || '',
      to: recipients,
      headerTo: addresses(parsed.to),
      subject: parsed.subject ?? '',
      text: parsed.text ?? '',
      html: typeof parsed.html === 'string' ? parsed.html : '',
      receivedAt: receivedAt.toISOString(),
      file,
    });
    events.emit('message');
  };

  const web = createHttpServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (path === '/messages.json') {
      response.writeHead(200, { 'content-type': 'application/json; charset=utf-8' });
      response.end(JSON.stringify(captured, null, 2));
      return;
    }
    const raw = /^\/messages\/(\d+)\.eml$/.exec(path);
    if (raw) {
      const mail = captured[Number(raw[1])];
      if (!mail) return notFound(response);
      readFile(mail.file).then(
        (content) => {
          response.writeHead(200, { 'content-type': 'message/rfc822', 'content-disposition': `inline; filename="${basename(mail.file)}"` });
          response.end(content);
        },
        () => notFound(response),
      );
      return;
    }
    if (path === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(renderPage(captured, dir));
      return;
    }
    notFound(response);
  });

  const smtpPort = await listen((port, ready) => smtp.listen(port, '127.0.0.1', ready), smtp.server, options.smtpPort ?? 0);
  let webPort: number;
  try {
    webPort = await listen((port, ready) => web.listen(port, '127.0.0.1', ready), web, options.webPort ?? 0);
  } catch (error) {
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
    throw error;
  }

  // A client dropping its connection surfaces as an 'error' event; the sink must outlive that.
  smtp.on('error', () => undefined);
  web.on('clientError', (_error, socket) => socket.destroy());

  return {
    smtpHost: '127.0.0.1',
    smtpPort,
    webUrl: `http://127.0.0.1:${webPort}`,
    dir,
    messages: () => [...captured],
    waitFor(predicate, timeoutMs) {
      return new Promise<CapturedMail[]>((resolve, reject) => {
        const check = (): boolean => {
          const snapshot = [...captured];
          if (!predicate(snapshot)) return false;
          finish();
          resolve(snapshot);
          return true;
        };
        const timer = setTimeout(() => {
          finish();
          reject(new Error(`mail sink: condition not met within ${timeoutMs} ms (${captured.length} messages received)`));
        }, timeoutMs);
        const finish = () => {
          clearTimeout(timer);
          events.off('message', check);
        };
        if (!check()) events.on('message', check);
      });
    },
    setReply(code, replyOptions = {}) {
      reply =
        code === null
          ? undefined
          : {
              code,
              at: replyOptions.at ?? 'rcpt',
              recipient: replyOptions.recipient,
              remaining: replyOptions.times ?? Number.POSITIVE_INFINITY,
              message: replyOptions.message ?? (code >= 500 ? 'Mailbox unavailable (mail sink)' : 'Try again later (mail sink)'),
            };
    },
    rejections: () => rejected,
    async close() {
      web.closeAllConnections();
      await Promise.all([
        new Promise<void>((resolve) => smtp.close(() => resolve())),
        new Promise<void>((resolve) => web.close(() => resolve())),
      ]);
    },
  };
}

function matches(filter: string | RegExp | undefined, address: string): boolean {
  if (filter === undefined) return true;
  return typeof filter === 'string' ? filter.toLowerCase() === address.toLowerCase() : filter.test(address);
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  const objects = field === undefined ? [] : Array.isArray(field) ? field : [field];
  return objects.flatMap((object) => object.value.map((entry) => entry.address ?? '').filter(Boolean));
}

function listen(
  start: (port: number, ready: () => void) => void,
  server: {
    once(event: 'error', listener: (error: Error) => void): unknown;
    off(event: 'error', listener: (error: Error) => void): unknown;
    address(): unknown;
  },
  port: number,
): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    start(port, () => {
      server.off('error', reject);
      const address = server.address() as { port: number };
      resolve(address.port);
    });
  });
}

function notFound(response: import('node:http').ServerResponse): void {
  response.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
  response.end('not found\n');
}

function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (char) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[char]!);
}

function renderPage(messages: CapturedMail[], dir: string): string {
  const rows = messages
    .map((mail, index) => {
      const preview = mail.text.length > 200 ? `${mail.text.slice(0, 200)}…` : mail.text;
      return `<tr><td>${escapeHtml(mail.receivedAt)}</td><td>${escapeHtml(mail.from)}</td><td>${escapeHtml(mail.to.join(', '))}</td><td>${escapeHtml(mail.subject)}</td><td><pre>${escapeHtml(preview)}</pre></td><td><a href="/messages/${index}.eml">.eml</a></td></tr>`;
    })
    .reverse()
    .join('\n');
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>forge-jobs mail sink</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.4rem;vertical-align:top;text-align:left}pre{margin:0;white-space:pre-wrap}</style>
</head><body>
<h1>Mail sink</h1>
<p>${messages.length} message(s), newest first. Files in <code>${escapeHtml(dir)}</code>. JSON: <a href="/messages.json">/messages.json</a></p>
<table><thead><tr><th>Received</th><th>From</th><th>To</th><th>Subject</th><th>Text</th><th>Raw</th></tr></thead>
<tbody>
${rows}
</tbody></table>
</body></html>
`;
}
