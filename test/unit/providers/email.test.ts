/** The email provider against the SMTP sink on 127.0.0.1 (test/support/sinks.ts), reading what arrived with mailparser. */
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import type { EmailConfig } from '../../../src/config/types';
import type { EffectContext, EmailRequest } from '../../../src/effects/types';
import { PermanentError, TransientError } from '../../../src/errors';
import {
  createEmailProvider,
  createUnconfiguredEmailProvider,
  isValidAddress,
  messageIdFor,
  smtpConnections,
} from '../../../src/providers/email';
import type { Provider } from '../../../src/providers/types';
import { startSmtpSink, type SmtpSink } from '../../support/sinks';

let smtp: SmtpSink;
let config: EmailConfig;
let provider: Provider;
/** the messages the sink accepted, parsed */
const received = () => smtp.messages.map((m) => m.parsed!);

beforeAll(async () => {
  smtp = await startSmtpSink({
    parse: true,
    rcpt: (address) => {
      if (address.startsWith('busy@')) return { code: 451, message: '4.2.1 Mailbox busy, try again later' };
      if (address.startsWith('nobody@')) return { code: 550, message: '5.1.1 No such user here' };
      return undefined;
    },
    data: (mail) => (mail.parsed?.subject === 'reject at data' ? { code: 554, message: '5.7.1 Message content rejected' } : undefined),
  });
  config = { host: '127.0.0.1', port: smtp.port, from: 'Forge Helpdesk <noreply@forge.example>', tls: false };
  provider = createEmailProvider(config);
});

afterAll(async () => {
  await provider.close?.();
  await smtp.close();
});

beforeEach(() => {
  smtp.reset();
});

function ctx(key: string): EffectContext {
  return { idempotencyKey: key, job: 'notify_agents', workflowId: 'forge-job:Ticket:create:1:notify_agents', attempt: 1 };
}

function mail(extra: Partial<EmailRequest> = {}): EmailRequest {
  return { capability: 'email.send', to: 'agent@example.com', subject: 'New ticket', text: 'A ticket was opened.', ...extra };
}

describe('sending', () => {
  test('the same key gives the same Message-ID on every send; another key another one', async () => {
    const key = 'forge-job:Ticket:create:1:notify_agents/target-7/0';
    const first = await provider.execute(mail(), ctx(key));
    const second = await provider.execute(mail(), ctx(key));
    const other = await provider.execute(mail(), ctx(key + '-other'));

    expect(received()).toHaveLength(3);
    expect(received()[0].messageId).toBe(messageIdFor(key));
    expect(received()[1].messageId).toBe(received()[0].messageId);
    expect(received()[2].messageId).not.toBe(received()[0].messageId);
    expect(received()[0].messageId).toMatch(/^<[A-Za-z0-9_=.-]+@forge-jobs>$/);
    expect(received()[0].headers.get('x-forge-idempotency-key')).toBe(key);

    expect(first.detail).toEqual({ messageId: messageIdFor(key), accepted: 1 });
    expect(second.detail).toEqual(first.detail);
    expect(other.detail?.messageId).not.toBe(first.detail?.messageId);
  });

  test('from defaults to config.from and the message is what was asked', async () => {
    await provider.execute(
      mail({ to: ['a@example.com', 'B <b@example.com>'], html: '<p>hi</p>', headers: { 'X-Ticket': '42' } }),
      ctx('k-from'),
    );
    const got = received()[0];
    expect(got.from?.value).toEqual([{ address: 'noreply@forge.example', name: 'Forge Helpdesk' }]);
    const to = Array.isArray(got.to) ? got.to.flatMap((t) => t.value) : (got.to?.value ?? []);
    expect(to.map((a) => a.address)).toEqual(['a@example.com', 'b@example.com']);
    expect(got.subject).toBe('New ticket');
    expect(got.text?.trim()).toBe('A ticket was opened.');
    expect(got.html).toContain('<p>hi</p>');
    expect(got.headers.get('x-ticket')).toBe('42');
  });

  test('a request from overrides config.from', async () => {
    await provider.execute(mail({ from: 'support@forge.example' }), ctx('k-own-from'));
    expect(received()[0].from?.value[0].address).toBe('support@forge.example');
  });

  test('the result holds counts, never addresses', async () => {
    const result = await provider.execute(mail({ to: ['a@example.com', 'c@example.com'] }), ctx('k-pii'));
    expect(result.detail).toEqual({ messageId: messageIdFor('k-pii'), accepted: 2 });
    expect(JSON.stringify(result)).not.toMatch(/example\.com/);
  });

  test('a caller cannot replace the Message-ID or the idempotency header', async () => {
    await provider.execute(mail({ headers: { 'Message-ID': '<mine@x>', 'X-Forge-Idempotency-Key': 'forged' } }), ctx('k-reserved'));
    expect(received()[0].messageId).toBe(messageIdFor('k-reserved'));
    expect(received()[0].headers.get('x-forge-idempotency-key')).toBe('k-reserved');
  });
});

describe('messageIdFor', () => {
  test('keeps safe characters, escapes the rest without collisions, hashes long keys', () => {
    expect(messageIdFor('abc-123_X')).toBe('<abc-123_X@forge-jobs>');
    expect(messageIdFor('a:b')).toBe('<a=3Ab@forge-jobs>');
    expect(messageIdFor('a:b')).not.toBe(messageIdFor('a_b'));
    expect(messageIdFor('a>b\r\nBcc: x@y')).toMatch(/^<[A-Za-z0-9_=-]+@forge-jobs>$/);
    expect(messageIdFor('x'.repeat(500))).toMatch(/^<sha256\.[0-9a-f]{64}@forge-jobs>$/);
    expect(messageIdFor('x'.repeat(500))).toBe(messageIdFor('x'.repeat(500)));
  });
});

describe('refused before sending', () => {
  test.each<[string, Partial<EmailRequest>, RegExp]>([
    ['LF in to', { to: 'agent@example.com\nBcc: everyone@example.com' }, /\bto\b.*line break/],
    ['CR in to (array)', { to: ['ok@example.com', 'agent@example.com\rBcc: x@example.com'] }, /to\[1\].*line break/],
    ['CRLF in from', { from: 'noreply@forge.example\r\nBcc: x@example.com' }, /from.*line break/],
    ['CRLF in subject', { subject: 'Hello\r\nBcc: x@example.com' }, /subject.*line break/],
    ['LF in subject', { subject: 'Hello\nX-Evil: 1' }, /subject.*line break/],
    ['CRLF in a header value', { headers: { 'X-Ticket': '1\r\nBcc: x@example.com' } }, /header X-Ticket.*line break/],
    ['LF in a header name', { headers: { 'X-A\nBcc': 'x@example.com' } }, /header name.*line break/],
    ['an invalid header name', { headers: { 'X A': '1' } }, /header name/],
    ['an invalid to', { to: 'not an address' }, /\bto\b.*not a valid address/],
    ['a to without domain dot', { to: 'agent@localhost' }, /\bto\b.*not a valid address/],
    ['an invalid from', { from: 'nobody' }, /from.*not a valid address/],
    ['two addresses in from', { from: 'a@example.com, b@example.com' }, /from must be exactly one address/],
    ['two addresses in to (a record value)', { to: 'me@example.com, other@example.com' }, /email.send: to must be exactly one address/],
    [
      'two addresses in one value of a to list',
      { to: ['ok@example.com', 'me@example.com; other@example.com'] },
      /to\[1\] must be exactly one address/,
    ],
    ['a group in to', { to: 'friends: a@example.com, b@example.com;' }, /\bto must be exactly one address/],
    ['two addresses in cc', { cc: 'a@example.com, b@example.com' }, /\bcc must be exactly one address/],
    ['an invalid bcc', { bcc: ['ok@example.com', 'nope'] }, /bcc\[1\].*not a valid address/],
    ['an empty to list', { to: [] }, /to is empty/],
  ])('%s', async (_name, extra, message) => {
    const err = await provider.execute(mail(extra), ctx('refused')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(message);
    expect(received()).toHaveLength(0);
  });

  test('the refusal names the field, not the address', async () => {
    for (const to of ['secret-person@@example.com', 'secret-person@example.com, other-secret@example.com']) {
      const err = (await provider.execute(mail({ to }), ctx('refused')).catch((e: unknown) => e)) as Error;
      expect(err.message).not.toContain('secret');
    }
  });

  test('one address with a display name, and cc and bcc lists, are sent as they are', async () => {
    await provider.execute(
      mail({ to: '"Doe, Jane" <jane@example.com>', cc: ['c1@example.com', 'C Two <c2@example.com>'], bcc: 'b@example.com' }),
      ctx('k-cc'),
    );
    expect(received()).toHaveLength(1);
    expect(received()[0].to).toMatchObject({ value: [{ address: 'jane@example.com', name: 'Doe, Jane' }] });
    expect(received()[0].cc).toMatchObject({ value: [{ address: 'c1@example.com' }, { address: 'c2@example.com' }] });
  });

  test.each(['a@example.com', 'first.last+tag@sub.example.co.uk', '用户@例子.广告'])('%s is a valid address', (a) => {
    expect(isValidAddress(a)).toBe(true);
  });
  test.each(['a@', '@example.com', 'a b@example.com', 'a@example', 'a@-example.com', '.a@example.com', 'a..b@example.com'])(
    '%s is not',
    (a) => {
      expect(isValidAddress(a)).toBe(false);
    },
  );
});

describe('classification of SMTP replies', () => {
  // The reply's code and enhanced status stay; its text (which usually quotes the address) never does.
  test('451 at RCPT is transient and keeps the reply code, not its text', async () => {
    const err = await provider.execute(mail({ to: 'busy@example.com' }), ctx('k-451')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TransientError);
    expect((err as Error).message).toMatch(/451 4\.2\.1/);
    expect((err as Error).message).not.toMatch(/busy|Mailbox|example\.com/);
  });

  test('550 at RCPT is permanent and keeps the reply code, not its text', async () => {
    const err = await provider.execute(mail({ to: 'nobody@example.com' }), ctx('k-550')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/^SMTP server refused the message: 550 5\.1\.1 \(EENVELOPE\)$/);
    expect((err as Error).message).not.toMatch(/nobody|No such user/);
  });

  test('554 after DATA is permanent', async () => {
    const err = await provider.execute(mail({ subject: 'reject at data' }), ctx('k-554')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermanentError);
    expect((err as Error).message).toMatch(/554 5\.7\.1/);
    expect((err as Error).message).not.toMatch(/content rejected/);
  });

  test('a partly rejected message is sent to the rest and counts both', async () => {
    const result = await provider.execute(mail({ to: ['a@example.com', 'nobody@example.com'] }), ctx('k-partial'));
    expect(result.detail).toEqual({ messageId: messageIdFor('k-partial'), accepted: 1, rejected: 1 });
    expect(received()).toHaveLength(1);
  });

  test('the provider keeps working after rejections (pooled connection recovers)', async () => {
    await provider.execute(mail({ to: 'nobody@example.com' }), ctx('k-r1')).catch(() => undefined);
    await expect(provider.execute(mail(), ctx('k-after'))).resolves.toMatchObject({ detail: { accepted: 1 } });
  });

  test('no server listening is transient', async () => {
    const probe = net.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const down = createEmailProvider({ ...config, port });
    try {
      await expect(down.execute(mail(), ctx('k-down'))).rejects.toBeInstanceOf(TransientError);
    } finally {
      await down.close?.();
    }
  });

  test('without [email] every send fails for good, saying why', async () => {
    await expect(createUnconfiguredEmailProvider().execute(mail(), ctx('k'))).rejects.toThrow(
      new PermanentError('no [email] section in forge.runtime.toml'),
    );
  });
});

test("the SMTP pool has nodemailer's 5 connections without a rate, and enough for the rate with one", () => {
  expect(smtpConnections({})).toBe(5);
  expect(smtpConnections({ rate: { text: '14/s', perSecond: 14 } })).toBe(5);
  expect(smtpConnections({ rate: { text: '1000/s', perSecond: 1000 } })).toBe(20);
  expect(smtpConnections({ rate: { text: '100000/s', perSecond: 100_000 } })).toBe(50);
  // [email] connections says it outright, over the rate's
  expect(smtpConnections({ connections: 12 })).toBe(12);
  expect(smtpConnections({ connections: 2, rate: { text: '1000/s', perSecond: 1000 } })).toBe(2);
});
