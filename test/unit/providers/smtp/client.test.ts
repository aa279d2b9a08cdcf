/**
 * The pooled SMTP client (src/providers/smtp/client.ts) against real servers on 127.0.0.1: the tests' SMTP
 * sink (smtp-server + mailparser), smtp-server itself for PIPELINING off, AUTH, STARTTLS and SMTPUTF8, and a
 * scripted server (./fake-server) for refusals of MAIL or DATA, closes mid-transaction and silent servers.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { PermanentError, TransientError } from '../../../../src/errors';
import { classifySmtpError } from '../../../../src/providers/email';
import { SmtpError, SmtpPool, type SmtpClientOptions } from '../../../../src/providers/smtp/client';
import { composeMessage, type MessageInput } from '../../../../src/providers/smtp/message';
import { startSmtpSink, type SmtpSink } from '../../../support/sinks';
import { startFakeSmtp, type FakeServer } from './fake-server';

const pools: SmtpPool[] = [];
afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

function pool(port: number, extra: Partial<SmtpClientOptions> = {}): SmtpPool {
  const p = new SmtpPool({
    host: '127.0.0.1',
    port,
    maxConnections: 5,
    connectionTimeout: 2000,
    greetingTimeout: 2000,
    socketTimeout: 5000,
    ...extra,
  });
  pools.push(p);
  return p;
}

let n = 0;
function msg(extra: Partial<MessageInput> = {}) {
  return composeMessage({
    from: 'Forge <noreply@forge.example>',
    to: ['a@example.com'],
    subject: 'Hello',
    text: 'Hi there.',
    messageId: `<m${++n}@forge-jobs>`,
    ...extra,
  });
}

async function failure(p: Promise<unknown>): Promise<SmtpError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SmtpError);
  return err as SmtpError;
}

// ---------------------------------------------------------------------------------------------------

describe('against the SMTP sink (smtp-server + mailparser)', () => {
  let sink: SmtpSink;
  beforeAll(async () => {
    sink = await startSmtpSink({
      parse: true,
      rcpt: (address) => {
        if (address.startsWith('busy')) return { code: 451, message: '4.2.1 Mailbox busy' };
        if (address.startsWith('nobody')) return { code: 550, message: '5.1.1 No such user' };
        return undefined;
      },
      data: (mail) => {
        if (mail.parsed?.subject === 'refuse 554') return { code: 554, message: '5.7.1 Content rejected' };
        if (mail.parsed?.subject === 'defer 451') return { code: 451, message: '4.3.0 Try later' };
        return undefined;
      },
    });
  });
  afterAll(() => sink.close());
  beforeEach(() => sink.reset());

  test('messages arrive as asked: ASCII and non-ASCII subject, names, bodies, long lines, dots, text and html', async () => {
    const p = pool(sink.port);
    const cases: Array<Partial<MessageInput>> = [
      { subject: 'Plain', text: 'Line one\n.dot line\n..two dots\nend' },
      {
        subject: 'Grüße – 你好 ' + 'lang '.repeat(30),
        from: 'Zoë <zoe@forge.example>',
        to: ['"Doe, Jane" <jane@example.com>', '日本 <jp@example.com>'],
        cc: ['Çé <cc@example.com>'],
        bcc: ['hidden@example.com'],
        text: 'Grüße\n' + 'long '.repeat(400) + '\n.',
        html: '<p>你好，世界</p>',
      },
    ];
    for (const c of cases)
      await expect(p.send(msg(c))).resolves.toEqual({
        accepted: 1 + (c.to?.length ?? 1) - 1 + (c.cc?.length ?? 0) + (c.bcc?.length ?? 0),
        rejected: 0,
      });

    const [plain, rich] = sink.messages.map((m) => m.parsed!);
    expect(plain.subject).toBe('Plain');
    expect(plain.text).toBe('Line one\n.dot line\n..two dots\nend\n');

    expect(rich.subject).toBe(cases[1].subject);
    expect(rich.from?.value).toEqual([{ name: 'Zoë', address: 'zoe@forge.example' }]);
    const to = Array.isArray(rich.to) ? rich.to.flatMap((t) => t.value) : rich.to!.value;
    expect(to).toEqual([
      { name: 'Doe, Jane', address: 'jane@example.com' },
      { name: '日本', address: 'jp@example.com' },
    ]);
    expect(Array.isArray(rich.cc) ? undefined : rich.cc?.value).toEqual([{ name: 'Çé', address: 'cc@example.com' }]);
    expect(rich.bcc).toBeUndefined();
    expect(rich.text).toBe(cases[1].text);
    expect(rich.html).toContain('<p>你好，世界</p>');
    expect(sink.messages[1].to.sort()).toEqual(['cc@example.com', 'hidden@example.com', 'jane@example.com', 'jp@example.com']);
  });

  test('some recipients refused: sent to the rest, counted', async () => {
    const result = await pool(sink.port).send(msg({ to: ['a@example.com', 'nobody@example.com', 'busy@example.com'] }));
    expect(result).toEqual({ accepted: 1, rejected: 2 });
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0].to).toEqual(['a@example.com']);
  });

  test('all recipients refused: EENVELOPE with the reply, the deferred one first; nothing sent; the connection goes on', async () => {
    const p = pool(sink.port, { maxConnections: 1 });
    const permanent = await failure(p.send(msg({ to: ['nobody@example.com'] })));
    expect(permanent).toMatchObject({ code: 'EENVELOPE', responseCode: 550 });
    expect(permanent.response).toMatch(/^550 5\.1\.1/);
    expect(classifySmtpError(permanent)).toBeInstanceOf(PermanentError);

    const mixed = await failure(p.send(msg({ to: ['nobody@example.com', 'busy@example.com'] })));
    expect(mixed).toMatchObject({ code: 'EENVELOPE', responseCode: 451 });
    expect(classifySmtpError(mixed)).toBeInstanceOf(TransientError);

    expect(sink.messages).toHaveLength(0);
    await expect(p.send(msg())).resolves.toEqual({ accepted: 1, rejected: 0 });
    expect(p.size).toBe(1);
  });

  test('5xx and 4xx after the message: EMESSAGE with the reply code', async () => {
    const p = pool(sink.port);
    const refused = await failure(p.send(msg({ subject: 'refuse 554' })));
    expect(refused).toMatchObject({ code: 'EMESSAGE', responseCode: 554 });
    expect(classifySmtpError(refused).message).toBe('SMTP server refused the message: 554 5.7.1 (EMESSAGE)');
    const deferred = await failure(p.send(msg({ subject: 'defer 451' })));
    expect(deferred).toMatchObject({ code: 'EMESSAGE', responseCode: 451 });
    expect(classifySmtpError(deferred)).toBeInstanceOf(TransientError);
  });

  test('concurrent sends share the pool: all arrive once, on at most maxConnections connections', async () => {
    const p = pool(sink.port, { maxConnections: 3 });
    const sends = Array.from({ length: 120 }, (_, i) => p.send(msg({ subject: `c${i}`, to: [`r${i}@example.com`] })));
    expect(p.size).toBeLessThanOrEqual(3);
    await Promise.all(sends);
    expect(sink.messages).toHaveLength(120);
    expect(new Set(sink.messages.map((m) => m.subject)).size).toBe(120);
  });
});

// ---------------------------------------------------------------------------------------------------

/** smtp-server with a connection counter and what each transaction's MAIL FROM carried. */
async function startServer(options: SMTPServerOptions) {
  let connections = 0;
  const mailArgs: Array<Record<string, unknown> | false> = [];
  /** what each delivered message's session held when its DATA ended */
  const sessions: Array<{ secure: boolean; user: unknown; rcptTo: string[] }> = [];
  const server = new SMTPServer({
    disableReverseLookup: true,
    logger: false,
    closeTimeout: 100,
    authOptional: true,
    onConnect(_session, cb) {
      connections++;
      cb();
    },
    onMailFrom(address, session, cb) {
      mailArgs.push(address.args);
      cb();
    },
    onData(stream, session, cb) {
      sessions.push({ secure: session.secure, user: session.user, rcptTo: session.envelope.rcptTo.map((r) => r.address) });
      stream.resume();
      stream.on('end', () => cb());
    },
    ...options,
  });
  server.on('error', () => undefined); // a client refusing the certificate, on purpose
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.server.address() as AddressInfo).port,
    connections: () => connections,
    mailArgs,
    sessions,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('against smtp-server', () => {
  test('a connection sends at most 100 messages, then the pool opens another', async () => {
    const server = await startServer({ disabledCommands: ['STARTTLS', 'AUTH'] });
    try {
      const p = pool(server.port, { maxConnections: 1 });
      for (let i = 0; i < 250; i++) await p.send(msg());
      expect(server.sessions).toHaveLength(250);
      expect(server.connections()).toBe(3);
    } finally {
      await server.close();
    }
  });

  test('sequential sends reuse one connection', async () => {
    const server = await startServer({ disabledCommands: ['STARTTLS', 'AUTH'] });
    try {
      const p = pool(server.port);
      for (let i = 0; i < 20; i++) await p.send(msg());
      expect(server.connections()).toBe(1);
    } finally {
      await server.close();
    }
  });

  test('without PIPELINING, one command at a time, and the messages still go', async () => {
    const server = await startServer({ disabledCommands: ['STARTTLS', 'AUTH'], hidePIPELINING: true } as SMTPServerOptions);
    try {
      const p = pool(server.port);
      await expect(p.send(msg({ to: ['a@example.com', 'b@example.com'] }))).resolves.toEqual({ accepted: 2, rejected: 0 });
      expect(server.sessions[0].rcptTo).toEqual(['a@example.com', 'b@example.com']);
    } finally {
      await server.close();
    }
  });

  describe('AUTH', () => {
    const onAuth: SMTPServerOptions['onAuth'] = (auth, _session, cb) => {
      if (auth.username === 'forge' && auth.password === 's3cret-pass') cb(null, { user: 'forge' });
      else cb(Object.assign(new Error('5.7.8 Invalid credentials'), { responseCode: 535 }));
    };

    test.each(['PLAIN', 'LOGIN'])('%s logs in; a wrong password is EAUTH 535, the password nowhere in the error', async (method) => {
      const server = await startServer({
        disabledCommands: ['STARTTLS'],
        authMethods: [method],
        allowInsecureAuth: true,
        authOptional: false,
        onAuth,
      });
      try {
        await expect(pool(server.port, { user: 'forge', password: 's3cret-pass' }).send(msg())).resolves.toEqual({
          accepted: 1,
          rejected: 0,
        });
        expect(server.sessions[0].user).toBe('forge');

        const err = await failure(pool(server.port, { user: 'forge', password: 'wrong-pass-xyz' }).send(msg()));
        expect(err).toMatchObject({ code: 'EAUTH', responseCode: 535 });
        const classified = classifySmtpError(err);
        expect(classified).toBeInstanceOf(PermanentError);
        const everything = JSON.stringify({ ...err, message: err.message, stack: err.stack }) + classified.message;
        expect(everything).not.toContain('wrong-pass-xyz');
        expect(everything).not.toContain(Buffer.from('wrong-pass-xyz').toString('base64'));
        expect(everything).not.toContain(Buffer.from('\0forge\0wrong-pass-xyz').toString('base64'));
      } finally {
        await server.close();
      }
    });
  });

  describe('TLS', () => {
    let dir: string;
    let key: Buffer;
    let cert: Buffer;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'smtp-tls-'));
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:prime256v1',
          '-nodes',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
          '-days',
          '1',
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=IP:127.0.0.1,DNS:localhost',
        ],
        { stdio: 'ignore' },
      );
      key = readFileSync(join(dir, 'key.pem'));
      cert = readFileSync(join(dir, 'cert.pem'));
    });
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    test('STARTTLS when offered, the certificate verified against the CA the test trusts; then AUTH over TLS', async () => {
      const server = await startServer({
        key,
        cert,
        authMethods: ['PLAIN'],
        authOptional: false,
        onAuth: (auth, _s, cb) => cb(null, { user: auth.username }),
      });
      try {
        await expect(pool(server.port, { tls: { ca: cert }, user: 'forge', password: 'x' }).send(msg())).resolves.toEqual({
          accepted: 1,
          rejected: 0,
        });
        expect(server.sessions[0].secure).toBe(true);
        expect(server.sessions[0].user).toBe('forge');

        // an untrusted certificate: no message, a TLS error
        const err = await failure(pool(server.port).send(msg()));
        expect(err.code).toBe('ETLS');
        expect(classifySmtpError(err)).toBeInstanceOf(TransientError);
        expect(server.sessions).toHaveLength(1);
      } finally {
        await server.close();
      }
    });

    test('secure: TLS from the start', async () => {
      const server = await startServer({ secure: true, key, cert, disabledCommands: ['AUTH'] });
      try {
        await expect(pool(server.port, { secure: true, tls: { ca: cert } }).send(msg())).resolves.toEqual({ accepted: 1, rejected: 0 });
        expect(server.sessions[0].secure).toBe(true);
        const err = await failure(pool(server.port, { secure: true }).send(msg()));
        expect(err.code).toBe('ETLS');
        expect(err.message).toMatch(/self-signed|certificate/i);
      } finally {
        await server.close();
      }
    });
  });

  test('SMTPUTF8 for a non-ASCII local part when offered, BODY=8BITMIME with it; a permanent refusal without it', async () => {
    const server = await startServer({ disabledCommands: ['STARTTLS', 'AUTH'] });
    const old = await startServer({ disabledCommands: ['STARTTLS', 'AUTH'], hideSMTPUTF8: true } as SMTPServerOptions);
    try {
      await expect(pool(server.port).send(msg({ to: ['用户@例子.广告'] }))).resolves.toEqual({ accepted: 1, rejected: 0 });
      expect(server.mailArgs[0]).toMatchObject({ SMTPUTF8: true, BODY: '8BITMIME' });
      expect(server.sessions[0].rcptTo[0]).toBe('用户@例子.广告');

      await pool(server.port).send(msg({ to: ['plain@example.com'] }));
      expect(server.mailArgs[1]).toBe(false);

      const err = await failure(pool(old.port).send(msg({ to: ['用户@例子.广告'] })));
      expect(err.code).toBe('EENVELOPE');
      expect(err.responseCode).toBeUndefined();
      const classified = classifySmtpError(err);
      expect(classified).toBeInstanceOf(PermanentError);
      expect(classified.message).not.toContain('用户');
      expect(old.sessions).toHaveLength(0);
    } finally {
      await server.close();
      await old.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------------

describe('against a scripted server', () => {
  let fake: FakeServer | undefined;
  afterEach(async () => {
    await fake?.close();
    fake = undefined;
  });

  test('with PIPELINING, MAIL + every RCPT + DATA in one write, then the message in one', async () => {
    fake = await startFakeSmtp();
    await pool(fake.port).send(msg({ to: ['a@example.com', 'b@example.com'], cc: ['c@example.com'] }));
    const chunks = fake.chunks.get(1)!;
    const envelope = chunks.find((c) => c.startsWith('MAIL FROM:'));
    expect(envelope).toBe(
      'MAIL FROM:<noreply@forge.example>\r\nRCPT TO:<a@example.com>\r\nRCPT TO:<b@example.com>\r\nRCPT TO:<c@example.com>\r\nDATA\r\n',
    );
    const body = chunks[chunks.indexOf(envelope!) + 1];
    expect(body.startsWith('From: Forge <noreply@forge.example>\r\n')).toBe(true);
    expect(body.endsWith('\r\n.\r\n')).toBe(true);
  });

  test.each<[string, string, string, number]>([
    ['MAIL', '451 4.3.2 try later', 'EENVELOPE', 451],
    ['MAIL', '553 5.1.8 bad sender', 'EENVELOPE', 553],
    ['DATA', '452 4.3.1 out of space', 'EMESSAGE', 452],
    ['DATA', '554 5.5.1 no valid recipients', 'EMESSAGE', 554],
    ['.', '451 4.3.0 queue trouble', 'EMESSAGE', 451],
    ['.', '552 5.3.4 too big', 'EMESSAGE', 552],
  ])('%s answered "%s": %s %i; RSET, and the connection sends the next', async (verb, reply, code, responseCode) => {
    let refused = false;
    fake = await startFakeSmtp({
      respond: (command) => {
        if (!refused && (command === verb || command.startsWith(verb + ' '))) {
          refused = true;
          return reply;
        }
        return undefined;
      },
    });
    const p = pool(fake.port, { maxConnections: 1 });
    const err = await failure(p.send(msg()));
    expect(err).toMatchObject({ code, responseCode, response: reply });
    expect(classifySmtpError(err)).toBeInstanceOf(responseCode >= 500 ? PermanentError : TransientError);
    await expect(p.send(msg())).resolves.toEqual({ accepted: 1, rejected: 0 });
    expect(fake.commands).toContain('RSET');
    expect(fake.connections()).toBe(1);
  });

  test('without PIPELINING the commands go one by one; a refused MAIL stops before RCPT', async () => {
    let first = true;
    fake = await startFakeSmtp({
      extensions: ['8BITMIME'],
      respond: (command) => {
        if (first && command.startsWith('MAIL')) {
          first = false;
          return '550 5.7.1 not you';
        }
        return undefined;
      },
    });
    const p = pool(fake.port, { maxConnections: 1 });
    const err = await failure(p.send(msg()));
    expect(err).toMatchObject({ code: 'EENVELOPE', responseCode: 550 });
    expect(fake.commands.some((c) => c.startsWith('RCPT'))).toBe(false);
    await p.send(msg({ to: ['a@example.com', 'b@example.com'] }));
    const chunks = fake.chunks.get(1)!;
    expect(chunks).toContain('RCPT TO:<a@example.com>\r\n');
    expect(chunks).toContain('RCPT TO:<b@example.com>\r\n');
    expect(chunks).toContain('DATA\r\n');
  });

  test('an envelope address that could smuggle SMTP syntax is refused before anything is written', async () => {
    fake = await startFakeSmtp();
    const p = pool(fake.port);
    for (const bad of ['a@example.com> NOTIFY=NEVER', 'a b@example.com', '<a@example.com>']) {
      const m = msg();
      m.recipients = [bad];
      const err = await failure(p.send(m));
      expect(err).toMatchObject({ code: 'EENVELOPE' });
      expect(err.message).not.toContain('example.com');
    }
    expect(fake.commands.some((c) => c.startsWith('MAIL'))).toBe(false);
    const quoted = msg();
    quoted.recipients = ['"a b"@example.com'];
    await expect(p.send(quoted)).resolves.toEqual({ accepted: 1, rejected: 0 });
  });

  test('EHLO refused: HELO, and the message goes without extensions', async () => {
    fake = await startFakeSmtp({ respond: (command) => (command.startsWith('EHLO') ? '502 5.5.2 what' : undefined) });
    await expect(pool(fake.port).send(msg())).resolves.toEqual({ accepted: 1, rejected: 0 });
    expect(fake.commands.some((c) => c.startsWith('HELO '))).toBe(true);
    expect(fake.messages).toHaveLength(1);
  });

  test('the server closing mid-transaction: ECONNECTION (transient); the next send opens a new connection', async () => {
    let closed = false;
    fake = await startFakeSmtp({
      respond: (command) => {
        if (!closed && command === '.') {
          closed = true;
          return 'close';
        }
        return undefined;
      },
    });
    const p = pool(fake.port, { maxConnections: 1 });
    const err = await failure(p.send(msg()));
    expect(err.code).toBe('ECONNECTION');
    expect(classifySmtpError(err)).toBeInstanceOf(TransientError);
    await expect(p.send(msg())).resolves.toEqual({ accepted: 1, rejected: 0 });
    expect(fake.connections()).toBe(2);
  });

  test('an idle connection the server drops (421) is forgotten; the next send opens another', async () => {
    fake = await startFakeSmtp();
    const p = pool(fake.port, { maxConnections: 1 });
    await p.send(msg());
    const [session] = [...fake.chunks.keys()];
    expect(session).toBe(1);
    // the server says goodbye on its own
    await new Promise((r) => setTimeout(r, 20));
    closeIdle(fake);
    await new Promise((r) => setTimeout(r, 50));
    expect(p.size).toBe(0);
    await expect(p.send(msg())).resolves.toEqual({ accepted: 1, rejected: 0 });
    expect(fake.connections()).toBe(2);
  });

  test('an idle connection past the socket timeout says QUIT and is forgotten', async () => {
    fake = await startFakeSmtp();
    const p = pool(fake.port, { socketTimeout: 150 });
    await p.send(msg());
    expect(p.size).toBe(1);
    await new Promise((r) => setTimeout(r, 400));
    expect(fake.commands).toContain('QUIT');
    expect(p.size).toBe(0);
    await expect(p.send(msg())).resolves.toEqual({ accepted: 1, rejected: 0 });
  });

  test('a STARTTLS handshake that never ends: ETLS after the connection timeout', async () => {
    fake = await startFakeSmtp({
      extensions: ['PIPELINING', 'STARTTLS'],
      respond: (command) => (command === 'STARTTLS' ? '220 2.0.0 go ahead' : undefined),
    });
    const started = Date.now();
    const err = await failure(pool(fake.port, { connectionTimeout: 200 }).send(msg()));
    expect(err.code).toBe('ETLS');
    expect(Date.now() - started).toBeLessThan(2000);
  });

  test('a server that never greets: ETIMEDOUT after the greeting timeout (transient)', async () => {
    fake = await startFakeSmtp({ greeting: null });
    const started = Date.now();
    const err = await failure(pool(fake.port, { greetingTimeout: 200 }).send(msg()));
    expect(err.code).toBe('ETIMEDOUT');
    expect(Date.now() - started).toBeLessThan(2000);
    expect(classifySmtpError(err)).toBeInstanceOf(TransientError);
  });

  test('a server that stops answering mid-transaction: ETIMEDOUT after the socket timeout', async () => {
    fake = await startFakeSmtp({ respond: (command) => (command === '.' ? 'silent' : undefined) });
    const err = await failure(pool(fake.port, { socketTimeout: 300 }).send(msg()));
    expect(err.code).toBe('ETIMEDOUT');
  });
});

test('no server listening: ECONNECTION whose message says ECONNREFUSED, as the provider reports it', async () => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const p = pool(port);
  const errors = await Promise.all(Array.from({ length: 12 }, () => failure(p.send(msg()))));
  for (const err of errors) {
    expect(err.code).toBe('ECONNECTION');
    expect(err.message).toMatch(/ECONNREFUSED/);
    const classified = classifySmtpError(err);
    expect(classified).toBeInstanceOf(TransientError);
    expect(classified.message).toMatch(/SMTP .*ECONNREFUSED|SMTP ECONNECTION/);
  }
  expect(p.size).toBe(0);
  // with implicit TLS too: a refused connect is not a TLS failure
  const secure = await failure(pool(port, { secure: true }).send(msg()));
  expect(secure.code).toBe('ECONNECTION');
  expect(secure.message).toMatch(/ECONNREFUSED/);
});

test('close() refuses what is still queued and later sends', async () => {
  const fake = await startFakeSmtp({ greeting: null });
  try {
    const p = pool(fake.port, { maxConnections: 1, greetingTimeout: 300 });
    const first = failure(p.send(msg()));
    const queued = failure(p.send(msg()));
    await p.close();
    expect((await queued).code).toBe('ECONNECTION');
    expect((await failure(p.send(msg()))).code).toBe('ECONNECTION');
    expect((await first).code).toBe('ETIMEDOUT');
  } finally {
    await fake.close();
  }
});

/** The scripted server sends 421 on every open connection and closes them. */
function closeIdle(fake: FakeServer): void {
  for (const s of fake.sockets()) {
    s.write('421 4.4.2 idle too long\r\n');
    s.end();
  }
}
