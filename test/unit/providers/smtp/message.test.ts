/** The MIME builder (src/providers/smtp/message.ts): what it writes, and what mailparser reads back from it. */
import { simpleParser, type AddressObject } from 'mailparser';
import {
  composeMessage,
  dotStuff,
  encodeWords,
  foldHeader,
  parseAddress,
  quotedPrintable,
  type MessageInput,
} from '../../../../src/providers/smtp/message';

function input(extra: Partial<MessageInput> = {}): MessageInput {
  return { from: 'noreply@forge.example', to: ['a@example.com'], subject: 'Hello', text: 'Hi.', messageId: '<k@forge-jobs>', ...extra };
}

/** The DATA bytes without the dot-stuffing and the final dot, as the server stores them. */
function stored(data: Buffer): string {
  const s = data.toString('utf8');
  expect(s.endsWith('\r\n.\r\n')).toBe(true);
  return s.slice(0, -3).replace(/(^|\r\n)\.\./g, '$1.');
}

async function parse(extra: Partial<MessageInput> = {}) {
  const composed = composeMessage(input(extra));
  const raw = stored(composed.data);
  return { composed, raw, parsed: await simpleParser(raw) };
}

function addresses(a: AddressObject | AddressObject[] | undefined) {
  return (Array.isArray(a) ? a : a ? [a] : []).flatMap((x) => x.value).map((v) => ({ name: v.name, address: v.address }));
}

/** mailparser leaves a header it does not know as written: RFC 2047 B words decoded here (joined words lose the space between them) */
function decoded(value: unknown): string {
  return String(value)
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?B\?([^?]*)\?=/g, (_m, b64: string) => Buffer.from(b64, 'base64').toString('utf8'));
}

function lines(raw: string): string[] {
  return raw.split('\r\n');
}

test('an ASCII text message: headers, 7bit, CRLF, parsed back', async () => {
  const { composed, raw, parsed } = await parse({ headers: { 'X-Ticket': '42' } });
  expect(composed.from).toBe('noreply@forge.example');
  expect(composed.recipients).toEqual(['a@example.com']);
  expect(composed.eightBit).toBe(false);
  expect(composed.smtpUtf8).toBe(false);
  expect(raw).toMatch(
    /^From: noreply@forge\.example\r\nTo: a@example\.com\r\nSubject: Hello\r\nDate: .+ \+0000\r\nMessage-ID: <k@forge-jobs>\r\n/,
  );
  expect(raw).toContain(
    'MIME-Version: 1.0\r\nX-Ticket: 42\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 7bit\r\n\r\nHi.\r\n',
  );
  expect(raw.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
  expect(parsed.subject).toBe('Hello');
  expect(parsed.text).toBe('Hi.\n');
  expect(parsed.messageId).toBe('<k@forge-jobs>');
  expect(parsed.headers.get('x-ticket')).toBe('42');
  expect(parsed.date).toBeInstanceOf(Date);
});

test('cc is a header, bcc only an envelope recipient', async () => {
  const { composed, raw, parsed } = await parse({
    to: ['a@example.com', 'B <b@example.com>'],
    cc: ['c@example.com'],
    bcc: ['d@example.com'],
  });
  expect(composed.recipients).toEqual(['a@example.com', 'b@example.com', 'c@example.com', 'd@example.com']);
  expect(raw).not.toMatch(/^bcc:/im);
  expect(raw).not.toContain('d@example.com');
  expect(addresses(parsed.to)).toEqual([
    { name: '', address: 'a@example.com' },
    { name: 'B', address: 'b@example.com' },
  ]);
  expect(addresses(parsed.cc)).toEqual([{ name: '', address: 'c@example.com' }]);
});

test('display names: quoted when they need it, encoded when not ASCII', async () => {
  const { raw, parsed } = await parse({
    from: '"Doe, Jane \\"JD\\"" <jane@example.com>',
    to: ['Zoë Ñúñez <z@example.com>', 'Plain Name <p@example.com>', '日本語の名前 <j@example.com>'],
  });
  expect(addresses(parsed.from)).toEqual([{ name: 'Doe, Jane "JD"', address: 'jane@example.com' }]);
  expect(addresses(parsed.to)).toEqual([
    { name: 'Zoë Ñúñez', address: 'z@example.com' },
    { name: 'Plain Name', address: 'p@example.com' },
    { name: '日本語の名前', address: 'j@example.com' },
  ]);
  expect(raw).toMatch(/=\?UTF-8\?B\?/);
  // headers stay 7-bit: the names are encoded-words
  expect(raw.split('\r\n\r\n')[0]).not.toMatch(/[^\x01-\x7f]/); // eslint-disable-line no-control-regex
});

test('non-ASCII subjects and header values are encoded-words, long ones folded, all parsed back', async () => {
  const subject = 'Ticket ünïcödé – 你好世界 '.repeat(8).trim();
  const { raw, parsed } = await parse({ subject, headers: { 'X-Note': 'café ☕' } });
  expect(parsed.subject).toBe(subject);
  expect(decoded(parsed.headers.get('x-note'))).toBe('café ☕');
  const head = raw.split('\r\n\r\n')[0];
  for (const l of lines(head)) expect(l.length).toBeLessThanOrEqual(78);
});

test('a long ASCII subject is folded at spaces within 78 characters and unfolds to itself', async () => {
  const subject = Array.from({ length: 40 }, (_, i) => `word${i}`).join(' ');
  const { raw, parsed } = await parse({ subject });
  expect(parsed.subject).toBe(subject);
  const head = raw.split('\r\n\r\n')[0];
  for (const l of lines(head)) expect(l.length).toBeLessThanOrEqual(78);
  expect(raw).toMatch(/^Subject: word0 .*\r\n word/m);
});

test('a header value with a word too long to fold never makes a line over 998', async () => {
  const long = 'x'.repeat(3000);
  const { raw, parsed } = await parse({ subject: long, headers: { 'X-Long': long } });
  for (const l of lines(raw)) expect(l.length).toBeLessThanOrEqual(998);
  expect(parsed.subject).toBe(long);
  expect(decoded(parsed.headers.get('x-long'))).toBe(long);
});

test('a value that looks like an encoded-word is encoded, so it reads back as written', async () => {
  const { parsed } = await parse({ subject: 'literally =?UTF-8?B?SGk=?= here' });
  expect(parsed.subject).toBe('literally =?UTF-8?B?SGk=?= here');
});

test('lines starting with a dot are dot-stuffed and read back unchanged', async () => {
  const text = '.first\n..second\nmiddle\n.\nlast.';
  const composed = composeMessage(input({ text }));
  const wire = composed.data.toString('utf8');
  expect(wire).toContain('\r\n..first\r\n...second\r\nmiddle\r\n..\r\nlast.\r\n.\r\n');
  const parsed = await simpleParser(stored(composed.data));
  expect(parsed.text).toBe(text + '\n');
});

test('a long ASCII line goes quoted-printable, lines within 76, read back whole', async () => {
  const text = 'start ' + 'abcdefghij'.repeat(150) + ' end\nsecond line';
  const { raw, parsed } = await parse({ text });
  expect(raw).toContain('Content-Transfer-Encoding: quoted-printable');
  for (const l of lines(raw.split('\r\n\r\n').slice(1).join('\r\n\r\n'))) expect(l.length).toBeLessThanOrEqual(76);
  expect(parsed.text).toBe(text);
});

test('a mostly ASCII non-ASCII body is quoted-printable; a mostly non-ASCII one base64', async () => {
  const latin = 'Grüße aus Köln, the café is open.\nTrailing space \nand tab\t\n= sign';
  const qp = await parse({ text: latin });
  expect(qp.raw).toContain('Content-Transfer-Encoding: quoted-printable');
  expect(qp.parsed.text).toBe(latin);
  expect(qp.composed.eightBit).toBe(false);

  const cjk = '你好，世界。这是一封测试邮件。\n第二行。';
  const b64 = await parse({ text: cjk });
  expect(b64.raw).toContain('Content-Transfer-Encoding: base64');
  expect(b64.parsed.text).toBe(cjk);
  expect(b64.composed.eightBit).toBe(false);
});

test('html only, and text + html as multipart/alternative', async () => {
  const html = await parse({ text: undefined, html: '<p>Hello <b>you</b></p>' });
  expect(html.raw).toContain('Content-Type: text/html; charset=utf-8');
  expect(html.parsed.html).toBe('<p>Hello <b>you</b></p>\n');

  const both = await parse({ text: 'Plain ünïcode', html: '<p>Rich ünïcode</p>' });
  expect(both.raw).toMatch(/Content-Type: multipart\/alternative;\r\n boundary="[^"]+"/);
  expect(both.parsed.text?.trim()).toBe('Plain ünïcode');
  expect(both.parsed.html).toContain('<p>Rich ünïcode</p>');
});

test('no text and no html: an empty text/plain', async () => {
  const { parsed } = await parse({ text: undefined });
  expect(parsed.text ?? '').toBe('');
});

test('a caller cannot replace the headers built here', async () => {
  const { raw } = await parse({ headers: { From: 'evil@x.test', 'Content-Type': 'text/evil', Bcc: 'x@y.test', 'X-Ok': '1' } });
  expect(raw).not.toContain('evil');
  expect(raw).not.toContain('x@y.test');
  expect(raw).toContain('X-Ok: 1\r\n');
});

test('addresses: an IDN domain goes as its A-label; a non-ASCII local part needs SMTPUTF8 and makes the message 8-bit', async () => {
  const idn = composeMessage(input({ to: ['user@bücher.example'] }));
  expect(idn.recipients).toEqual(['user@xn--bcher-kva.example']);
  expect(idn.smtpUtf8).toBe(false);
  expect(idn.eightBit).toBe(false);

  const utf8 = composeMessage(input({ to: ['用户@例子.广告'] }));
  expect(utf8.recipients).toEqual(['用户@例子.广告']);
  expect(utf8.smtpUtf8).toBe(true);
  expect(utf8.eightBit).toBe(true);
  const parsed = await simpleParser(stored(utf8.data));
  expect(addresses(parsed.to)[0].address).toBe('用户@例子.广告');
});

test('the helpers', () => {
  expect(parseAddress('a@b.example')).toEqual({ name: '', address: 'a@b.example' });
  expect(parseAddress(' Name  <a@b.example> ')).toEqual({ name: 'Name', address: 'a@b.example' });
  expect(parseAddress('"Doe, Jane" <a@b.example>')).toEqual({ name: 'Doe, Jane', address: 'a@b.example' });
  expect(parseAddress('a@b.example (Comment Name)')).toEqual({ name: 'Comment Name', address: 'a@b.example' });
  expect(parseAddress('Name (c) <a@b.example> (comment)')).toEqual({ name: 'Name', address: 'a@b.example' });
  expect(parseAddress('user @ b.example')).toEqual({ name: '', address: 'user@b.example' });
  expect(dotStuff('.a\r\nb\r\n')).toBe('..a\r\nb\r\n.\r\n');
  expect(dotStuff('a')).toBe('a\r\n.\r\n');
  expect(foldHeader('Subject', 'short')).toBe('Subject: short\r\n');
  for (const w of encodeWords('é'.repeat(100)).split(' ')) expect(w.length).toBeLessThanOrEqual(75);
  expect(quotedPrintable('a=b \r\nc\t')).toBe('a=3Db=20\r\nc=09');
  expect(quotedPrintable('x'.repeat(80))).toBe('x'.repeat(75) + '=\r\n' + 'xxxxx');
});
