/**
 * email.send over SMTP (./smtp: a pooled, pipelining client; the message built as one Buffer).
 *
 * Retries resend the same message, so the Message-ID is derived from the effect's idempotency key:
 * a receiving system, or a person, can recognise the duplicate. Values that reach SMTP headers are
 * refused when they carry line breaks, and every address value must be exactly one address, because a
 * template fed from record data must not be able to add headers or recipients. What the server answers
 * stays out of errors (they reach logs and workflow history): its reply code and enhanced status only.
 */
import { createHash } from 'node:crypto';
import addressparser from 'nodemailer/lib/addressparser';
import type { EmailConfig } from '../config/types';
import type { EffectContext, EffectRequest, EffectResult, EmailRequest } from '../effects/types';
import { PermanentError, TransientError } from '../errors';
import { checkPayloadSize } from './limits';
import { SmtpPool } from './smtp/client';
import { composeMessage, type MessageInput } from './smtp/message';
import type { Provider } from './types';

const CONNECTION_TIMEOUT_MS = 10_000;
const GREETING_TIMEOUT_MS = 10_000;
const SOCKET_TIMEOUT_MS = 60_000;

/** SMTP connections of the pool without a rate: nodemailer's default, which every server takes. */
const DEFAULT_CONNECTIONS = 5;
const MAX_CONNECTIONS = 50;
/**
 * A connection sends one message at a time, two round trips each with PIPELINING (four without): the time one
 * message may hold its connection before the pool is what limits the sends, not the server.
 */
const MESSAGE_SECONDS = 0.02;

/**
 * Connections of the pool: `[email] connections` when the operator says how many the server takes. With
 * `[email] rate`, enough connections for that rate at MESSAGE_SECONDS a message (20 at 1000/s). Without
 * either, nodemailer's default, since some servers refuse more connections than a few.
 */
export function smtpConnections(config: Pick<EmailConfig, 'rate' | 'connections'>): number {
  if (config.connections !== undefined) return config.connections;
  if (!config.rate) return DEFAULT_CONNECTIONS;
  return Math.min(MAX_CONNECTIONS, Math.max(DEFAULT_CONNECTIONS, Math.ceil(config.rate.perSecond * MESSAGE_SECONDS)));
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
// Headers whose value is ours: the idempotency contract depends on them.
const RESERVED_HEADERS = new Set(['message-id', 'x-forge-idempotency-key']);

const LOCAL_PART = /^(?:[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+(?:\.[\p{L}\p{N}!#$%&'*+/=?^_`{|}~-]+)*|"(?:[^"\\\r\n]|\\.)+")$/u;
const DOMAIN = /^(?:[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?\.)+[\p{L}\p{N}](?:[\p{L}\p{N}-]{0,61}[\p{L}\p{N}])?$/u;

export function createEmailProvider(config: EmailConfig): Provider {
  const pool = new SmtpPool({
    host: config.host,
    port: config.port,
    secure: config.tls,
    user: config.user,
    password: config.user ? (config.password ?? '') : undefined,
    connectionTimeout: CONNECTION_TIMEOUT_MS,
    greetingTimeout: GREETING_TIMEOUT_MS,
    socketTimeout: SOCKET_TIMEOUT_MS,
    maxConnections: smtpConnections(config),
  });

  return {
    name: 'email',
    capabilities: ['email.send'],
    async execute(request: EffectRequest, ctx: EffectContext): Promise<EffectResult> {
      if (request.capability !== 'email.send') throw new PermanentError(`email provider cannot serve capability ${request.capability}`);
      const message = buildMessage(request, config, ctx);
      let info: { accepted: number; rejected: number };
      try {
        info = await pool.send(composeMessage(message));
      } catch (err) {
        throw classifySmtpError(err);
      }
      // Counts only: recipient addresses are personal data and results go into workflow history.
      const detail: Record<string, unknown> = { messageId: message.messageId, accepted: info.accepted };
      if (info.rejected > 0) detail.rejected = info.rejected;
      return { capability: 'email.send', detail };
    },
    async close() {
      await pool.close();
    },
  };
}

/** The provider used when forge.runtime.toml has no [email]: every email job fails for good, saying why. */
export function createUnconfiguredEmailProvider(): Provider {
  return {
    name: 'email',
    capabilities: ['email.send'],
    async execute(): Promise<EffectResult> {
      throw new PermanentError('no [email] section in forge.runtime.toml');
    },
  };
}

/**
 * `<key@forge-jobs>` with the key made safe for a msg-id: letters, digits, `_` and `-` stay, every
 * other byte becomes `=XX`, so distinct keys never collide. Very long keys are hashed instead; the
 * `.` in that form is never produced by the escaping, so it cannot collide with an escaped key either.
 */
export function messageIdFor(idempotencyKey: string): string {
  const escaped = Array.from(Buffer.from(idempotencyKey, 'utf8'))
    .map((b) => {
      const c = String.fromCharCode(b);
      return /[A-Za-z0-9_-]/.test(c) ? c : '=' + b.toString(16).toUpperCase().padStart(2, '0');
    })
    .join('');
  const left =
    escaped.length > 0 && escaped.length <= 200 ? escaped : 'sha256.' + createHash('sha256').update(idempotencyKey).digest('hex');
  return `<${left}@forge-jobs>`;
}

type OutgoingMessage = MessageInput & { headers: Record<string, string> };

function buildMessage(req: EmailRequest, config: EmailConfig, ctx: EffectContext): OutgoingMessage {
  const to = addressList('to', req.to);
  if (to.length === 0) throw new PermanentError('email.send: to is empty');
  const cc = req.cc === undefined ? undefined : addressList('cc', req.cc);
  const bcc = req.bcc === undefined ? undefined : addressList('bcc', req.bcc);

  const from = req.from ?? config.from;
  checkAddressField('from', from);

  if (typeof req.subject !== 'string') throw new PermanentError('email.send: subject must be a string');
  checkNoLineBreak('subject', req.subject);
  if (req.text !== undefined && typeof req.text !== 'string') throw new PermanentError('email.send: text must be a string');
  if (req.html !== undefined && typeof req.html !== 'string') throw new PermanentError('email.send: html must be a string');
  checkPayloadSize(
    'email.send: the body (text + html)',
    Buffer.byteLength(req.text ?? '', 'utf8') + Buffer.byteLength(req.html ?? '', 'utf8'),
  );

  const headers: Record<string, string> = {};
  for (const [name, rawValue] of Object.entries(req.headers ?? {})) {
    const value = String(rawValue);
    checkNoLineBreak(`header name ${JSON.stringify(name.replace(/[\r\n]/g, ' '))}`, name);
    if (!HEADER_NAME.test(name)) throw new PermanentError(`email.send: header name ${JSON.stringify(name)} is not a valid field name`);
    checkNoLineBreak(`header ${name}`, value);
    if (RESERVED_HEADERS.has(name.toLowerCase())) continue;
    headers[name] = value;
  }
  // Printable ASCII goes as is (searchable); anything else goes in its msg-id escaped form.
  headers['X-Forge-Idempotency-Key'] = /^[\x21-\x7e]+$/.test(ctx.idempotencyKey)
    ? ctx.idempotencyKey
    : messageIdFor(ctx.idempotencyKey).slice(1, -'@forge-jobs>'.length);

  return {
    from,
    to,
    ...(cc && cc.length > 0 && { cc }),
    ...(bcc && bcc.length > 0 && { bcc }),
    subject: req.subject,
    text: req.text,
    html: req.html,
    headers,
    messageId: messageIdFor(ctx.idempotencyKey),
  };
}

function checkNoLineBreak(field: string, value: string): void {
  if (/[\r\n]/.test(value)) throw new PermanentError(`email.send: ${field} contains a line break (CR or LF)`);
}

/** A string or a list of strings, each exactly one address (checked); names like `to[1]` in errors. */
function addressList(field: string, value: unknown): string[] {
  const values = Array.isArray(value) ? value : [value];
  values.forEach((v, i) => checkAddressField(values.length > 1 ? `${field}[${i}]` : field, v));
  return values as string[];
}

/**
 * Exactly one address, or a permanent error naming the field, never the value: addresses are personal data
 * and this message ends up in history. A value a record fills in ("me@x.test, other@y.test", a group) must
 * not add recipients.
 */
function checkAddressField(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.trim() === '') throw new PermanentError(`email.send: ${field} is missing or not a string`);
  checkNoLineBreak(field, value);
  if (/\0/.test(value)) throw new PermanentError(`email.send: ${field} contains NUL`);
  const parsed = addressparser(value);
  if (parsed.length !== 1 || 'group' in parsed[0] || /[,;]/.test(parsed[0].address ?? '')) {
    throw new PermanentError(`email.send: ${field} must be exactly one address`);
  }
  if (!isValidAddress(parsed[0].address)) throw new PermanentError(`email.send: ${field} is not a valid address`);
}

export function isValidAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1 || address.length > 254) return false;
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  return local.length <= 64 && LOCAL_PART.test(local) && DOMAIN.test(domain);
}

interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

// Failures of our own setup or of the message itself: sending it again cannot help.
const PERMANENT_CODES = new Set(['EENVELOPE', 'EMESSAGE', 'EAUTH', 'ENOAUTH', 'ECONFIG', 'EMAXRECIPIENTS', 'EREQUIRETLS']);

/**
 * A failed send as a PermanentError or TransientError whose message holds the reply code, the enhanced
 * status (RFC 3463) and the client's error code (nodemailer's codes, ./smtp/client.ts), never the server's
 * reply text nor the client's message when there was a reply: both usually quote the address.
 */
export function classifySmtpError(err: unknown): Error {
  if (err instanceof PermanentError || err instanceof TransientError) return err;
  const e = (err ?? {}) as SmtpError;
  const code = e.code ? ` (${e.code})` : '';
  if (typeof e.responseCode === 'number') {
    const reply = `${e.responseCode}${enhancedStatus(e.response)}${code}`;
    // 503 (bad sequence of commands) blames the session, not the message: a new connection can succeed.
    if (e.responseCode >= 500 && e.responseCode !== 503)
      return new PermanentError(`SMTP server refused the message: ${reply}`, 'smtp_rejected');
    return new TransientError(`SMTP server deferred the message: ${reply}`, undefined, 'smtp_deferred');
  }
  // No reply code: the client's own message, unless it carries a server answer (then only the code).
  const detail = e.response === undefined && e.message ? `: ${withoutAddresses(e.message)}` : '';
  if (e.code && PERMANENT_CODES.has(e.code)) return new PermanentError(`SMTP ${e.code}${detail}`, 'smtp_rejected');
  // ECONNECTION, ETIMEDOUT, ESOCKET, EDNS, ETLS, EPROTOCOL and anything unknown.
  return new TransientError(`SMTP ${e.code ?? 'error'}${detail}`, undefined, 'smtp_unavailable');
}

/** " 5.1.1" from "550 5.1.1 <x@y>: no such user", else "". */
function enhancedStatus(response: string | undefined): string {
  const m = /^\d{3}[ -]([245]\.\d{1,3}\.\d{1,3})\b/.exec(response?.trim() ?? '');
  return m ? ` ${m[1]}` : '';
}

function withoutAddresses(text: string): string {
  return text.replace(/<[^<>\s]*@[^<>\s]*>|[^\s<>"'(),;:]+@[^\s<>"'(),;:]+/g, '<address>');
}
