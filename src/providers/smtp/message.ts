/**
 * An RFC 5322 / MIME message built as one string and sent as one Buffer: headers (display names and
 * non-ASCII values as RFC 2047 encoded-words, lines folded at 78), a text/plain or text/html body or a
 * multipart/alternative of both, each part 7bit when it can be, else quoted-printable (base64 when mostly
 * non-ASCII). The result is already dot-stuffed and ends with CRLF.CRLF: it is what goes after DATA.
 *
 * The values reaching here were checked by the provider (no CR/LF in a header, one address per value).
 */
import { randomBytes } from 'node:crypto';
import { domainToASCII } from 'node:url';
import addressparser from 'nodemailer/lib/addressparser';

export interface MailAddress {
  name: string;
  address: string;
}

export interface MessageInput {
  from: string;
  to: string[];
  cc?: string[];
  /** envelope only: never a header */
  bcc?: string[];
  subject: string;
  text?: string;
  html?: string;
  /** the caller's own headers, in order; names of the headers built here are ignored */
  headers?: Record<string, string>;
  messageId: string;
  date?: Date;
}

export interface ComposedMessage {
  /** MAIL FROM and RCPT TO addresses (domains in their ASCII form unless the local part needs SMTPUTF8) */
  from: string;
  recipients: string[];
  /** the dot-stuffed message followed by CRLF.CRLF */
  data: Buffer;
  /** some byte of the message is not 7-bit (BODY=8BITMIME) */
  eightBit: boolean;
  /** an address needs SMTPUTF8 (a non-ASCII local part) */
  smtpUtf8: boolean;
}

/** Headers this module writes itself: a caller's header of the same name is left out. */
const BUILT_HEADERS = new Set([
  'from',
  'to',
  'cc',
  'bcc',
  'subject',
  'date',
  'message-id',
  'mime-version',
  'content-type',
  'content-transfer-encoding',
]);

const LINE = 78;
/** a word longer than this cannot be folded below the hard limit with room to spare: encode it instead */
const LONGEST_WORD = 900;
const NON_ASCII = /[^\x00-\x7f]/; // eslint-disable-line no-control-regex
/** NUL or a byte above 127 */
const NOT_7BIT = /[^\x01-\x7f]/; // eslint-disable-line no-control-regex
const ENCODED_WORD_LIKE = /=\?[^?]*\?[bBqQ]\?/;
const ATEXT_PHRASE = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]*$/;

/**
 * One address value ("Name <a@b>", "\"Doe, Jane\" <a@b>", "a@b", "a@b (Name)") as name and address, read by
 * the same parser the provider validated it with (src/providers/email.ts checkAddressField), so that the
 * address mailed is the address checked.
 */
export function parseAddress(value: string): MailAddress {
  const parsed = addressparser(value);
  if (parsed.length === 1 && !('group' in parsed[0]) && parsed[0].address) {
    return { name: parsed[0].name ?? '', address: parsed[0].address };
  }
  return { name: '', address: value.trim() };
}

/**
 * The address as it goes to the server and into the header: an ASCII local part with a non-ASCII domain
 * gets the domain's A-label form (no SMTPUTF8 needed); a non-ASCII local part stays UTF-8.
 */
function wireAddress(address: string): { address: string; utf8: boolean } {
  if (!NON_ASCII.test(address)) return { address, utf8: false };
  const at = address.lastIndexOf('@');
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  const ascii = domainToASCII(domain);
  if (!NON_ASCII.test(local) && ascii) return { address: `${local}@${ascii}`, utf8: false };
  return { address, utf8: true };
}

/** RFC 2047 B encoded-words of at most 75 characters, never splitting a character, separated by spaces. */
export function encodeWords(value: string): string {
  const words: string[] = [];
  let chunk = '';
  let bytes = 0;
  for (const ch of value) {
    const n = Buffer.byteLength(ch, 'utf8');
    if (bytes + n > 45) {
      words.push(`=?UTF-8?B?${Buffer.from(chunk, 'utf8').toString('base64')}?=`);
      chunk = '';
      bytes = 0;
    }
    chunk += ch;
    bytes += n;
  }
  if (chunk !== '' || words.length === 0) words.push(`=?UTF-8?B?${Buffer.from(chunk, 'utf8').toString('base64')}?=`);
  return words.join(' ');
}

function hasLongWord(value: string): boolean {
  if (value.length <= LONGEST_WORD) return false;
  let run = 0;
  for (let i = 0; i < value.length; i++) {
    if (value.charCodeAt(i) === 32 || value.charCodeAt(i) === 9) run = 0;
    else if (++run > LONGEST_WORD) return true;
  }
  return false;
}

/** An unstructured value (Subject, a caller's header): as is when plain ASCII, else encoded-words. */
export function encodeUnstructured(value: string): string {
  if (!NOT_7BIT.test(value) && !ENCODED_WORD_LIKE.test(value) && !hasLongWord(value)) return value;
  return encodeWords(value);
}

function encodePhrase(name: string): string {
  if (NOT_7BIT.test(name) || ENCODED_WORD_LIKE.test(name) || hasLongWord(name)) return encodeWords(name);
  if (ATEXT_PHRASE.test(name)) return name;
  return `"${name.replace(/[\\"]/g, '\\$&')}"`;
}

function formatAddress(a: MailAddress, address: string): string {
  return a.name === '' ? address : `${encodePhrase(a.name)} <${address}>`;
}

/**
 * `Name: value` folded at spaces so that lines stay within 78 characters where the words allow (the values
 * given here have no word longer than LONGEST_WORD, so no line passes 998).
 */
export function foldHeader(name: string, value: string): string {
  const line = `${name}: ${value}`;
  if (line.length <= LINE) return line + '\r\n';
  const parts = line.split(' ');
  let out = '';
  let current = parts[0];
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i];
    if (p !== '' && current.trim() !== '' && current.length + 1 + p.length > LINE) {
      out += current + '\r\n';
      current = ' ' + p;
    } else {
      current += ' ' + p;
    }
  }
  return out + current + '\r\n';
}

/** RFC 5322 date-time in UTC: `Tue, 01 Dec 2026 10:46:39 +0000`. */
function formatDate(d: Date): string {
  const s = d.toUTCString();
  return s.endsWith(' GMT') ? s.slice(0, -4) + ' +0000' : s;
}

const HEX = Array.from({ length: 256 }, (_, i) => '=' + i.toString(16).toUpperCase().padStart(2, '0'));

/** Quoted-printable (RFC 2045) of the UTF-8 bytes of a CRLF text: lines of at most 76 characters. */
export function quotedPrintable(text: string): string {
  const buf = Buffer.from(text, 'utf8');
  const out: string[] = [];
  let line = '';
  for (let i = 0; i < buf.length; i++) {
    const b = buf[i];
    if (b === 0x0d && buf[i + 1] === 0x0a) {
      out.push(line, '\r\n');
      line = '';
      i++;
      continue;
    }
    let enc: string;
    if ((b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !(i + 1 === buf.length || buf[i + 1] === 0x0d))) {
      enc = String.fromCharCode(b);
    } else {
      enc = HEX[b];
    }
    if (line.length + enc.length > 75) {
      out.push(line, '=\r\n');
      line = '';
    }
    line += enc;
  }
  out.push(line);
  return out.join('');
}

function base64Lines(text: string): string {
  const b64 = Buffer.from(text, 'utf8').toString('base64');
  let out = '';
  for (let i = 0; i < b64.length; i += 76) out += b64.slice(i, i + 76) + '\r\n';
  return out;
}

function toCrlf(text: string): string {
  if (text.indexOf('\r') < 0) return text.indexOf('\n') < 0 ? text : text.replace(/\n/g, '\r\n');
  return text.replace(/\r\n|\r|\n/g, '\r\n');
}

function hasLongLine(text: string): boolean {
  if (text.length <= 998) return false;
  let start = 0;
  for (;;) {
    const end = text.indexOf('\r\n', start);
    if ((end < 0 ? text.length : end) - start > 998) return true;
    if (end < 0) return false;
    start = end + 2;
  }
}

/** The part's own headers and its encoded body, ending with CRLF. */
function part(type: 'plain' | 'html', content: string): string {
  const text = toCrlf(content);
  let cte: string;
  let body: string;
  if (!NOT_7BIT.test(text) && !hasLongLine(text)) {
    cte = '7bit';
    body = text.endsWith('\r\n') || text === '' ? text : text + '\r\n';
  } else {
    let nonAscii = 0;
    for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0x7f) nonAscii++;
    if (nonAscii * 3 > text.length) {
      cte = 'base64';
      body = base64Lines(text);
    } else {
      cte = 'quoted-printable';
      // a soft break ends the last line: the text reads back without a newline it did not have
      body = quotedPrintable(text) + (text.endsWith('\r\n') || text === '' ? '' : '=\r\n');
    }
  }
  return `Content-Type: text/${type}; charset=utf-8\r\nContent-Transfer-Encoding: ${cte}\r\n\r\n${body}`;
}

const BOUNDARY_PREFIX = `----forge_${randomBytes(8).toString('hex')}_`;
let boundaries = 0;

/** Lines starting with '.' get another, and the message ends with CRLF.CRLF. */
export function dotStuff(message: string): string {
  const stuffed = message.startsWith('.') || message.includes('\r\n.') ? message.replace(/(^|\r\n)\./g, '$1..') : message;
  return stuffed.endsWith('\r\n') ? stuffed + '.\r\n' : stuffed + '\r\n.\r\n';
}

/** The envelope and the DATA bytes of one message. */
export function composeMessage(input: MessageInput): ComposedMessage {
  let smtpUtf8 = false;
  const header = (list: string[], recipients: string[] | undefined): string => {
    let value = '';
    for (const raw of list) {
      const a = parseAddress(raw);
      const wire = wireAddress(a.address);
      if (wire.utf8) smtpUtf8 = true;
      recipients?.push(wire.address);
      value += (value === '' ? '' : ', ') + formatAddress(a, wire.address);
    }
    return value;
  };
  const recipients: string[] = [];
  const fromAddress = parseAddress(input.from);
  const fromWire = wireAddress(fromAddress.address);
  if (fromWire.utf8) smtpUtf8 = true;

  let head = foldHeader('From', formatAddress(fromAddress, fromWire.address));
  head += foldHeader('To', header(input.to, recipients));
  if (input.cc && input.cc.length > 0) head += foldHeader('Cc', header(input.cc, recipients));
  if (input.bcc && input.bcc.length > 0) header(input.bcc, recipients);
  head += foldHeader('Subject', encodeUnstructured(input.subject));
  head += `Date: ${formatDate(input.date ?? new Date())}\r\nMessage-ID: ${input.messageId}\r\nMIME-Version: 1.0\r\n`;
  if (input.headers) {
    for (const name in input.headers) {
      if (BUILT_HEADERS.has(name.toLowerCase())) continue;
      head += foldHeader(name, encodeUnstructured(input.headers[name]));
    }
  }

  let body: string;
  if (input.text !== undefined && input.html !== undefined) {
    let boundary = BOUNDARY_PREFIX + ++boundaries;
    while (input.text.includes(boundary) || input.html.includes(boundary)) boundary = BOUNDARY_PREFIX + ++boundaries;
    head += `Content-Type: multipart/alternative;\r\n boundary="${boundary}"\r\n`;
    body = `\r\n--${boundary}\r\n${part('plain', input.text)}\r\n--${boundary}\r\n${part('html', input.html)}\r\n--${boundary}--\r\n`;
  } else {
    const p = input.html !== undefined ? part('html', input.html) : part('plain', input.text ?? '');
    // the part's own headers are the message's last ones
    body = '';
    head += p;
  }
  const message = dotStuff(head + body);
  const data = Buffer.from(message, 'utf8');
  return { from: fromWire.address, recipients, data, eightBit: data.length !== message.length, smtpUtf8 };
}
