import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { startMailSink, type MailSink } from '../../../src/dev/mail-sink';

describe('mail sink', () => {
  let sink: MailSink;
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'forge-mail-test-'));
    sink = await startMailSink({ dir });
  });
  afterEach(async () => {
    await sink.close();
    await rm(dir, { recursive: true, force: true });
  });

  const transport = () =>
    nodemailer.createTransport({
      host: sink.smtpHost,
      port: sink.smtpPort,
      secure: false,
      auth: { user: 'anyone', pass: 'anything' },
    });

  test('captures a message, saves it as .eml, and serves it as HTML and JSON', async () => {
    const waiting = sink.waitFor((messages) => messages.some((mail) => mail.subject === 'Ticket <42> opened'), 5000);
    const info = await transport().sendMail({
      from: 'forge@example.test',
      to: 'agent@example.test',
      bcc: 'audit@example.test',
      subject: 'Ticket <42> opened',
      text: 'A new ticket & a <script>',
      html: '<p>A new ticket</p>',
    });
    const [mail] = await waiting;
    expect(mail).toMatchObject({
      from: 'forge@example.test',
      to: ['agent@example.test', 'audit@example.test'],
      headerTo: ['agent@example.test'],
      subject: 'Ticket <42> opened',
      text: expect.stringContaining('A new ticket & a <script>'),
      html: '<p>A new ticket</p>',
      messageId: info.messageId,
    });
    expect(await readFile(mail!.file, 'utf8')).toContain('Subject: Ticket <42> opened');
    expect(mail!.file.startsWith(dir)).toBe(true);

    const page = await (await fetch(sink.webUrl)).text();
    expect(page).toContain('Ticket &lt;42&gt; opened');
    expect(page).toContain('&lt;script&gt;');
    expect(page).not.toContain('<script>');
    const json = (await (await fetch(`${sink.webUrl}/messages.json`)).json()) as Array<{ subject: string }>;
    expect(json.map((entry) => entry.subject)).toEqual(['Ticket <42> opened']);
    const raw = await fetch(`${sink.webUrl}/messages/0.eml`);
    expect(raw.status).toBe(200);
    expect(await raw.text()).toContain('Ticket <42> opened');
  });

  test('setReply makes the client see 451 on RCPT and 550 on DATA, then accepts again', async () => {
    sink.setReply(451);
    await expect(transport().sendMail({ from: 'a@example.test', to: 'b@example.test', subject: 's', text: 't' })).rejects.toMatchObject({
      responseCode: 451,
    });
    sink.setReply(550, { at: 'data' });
    await expect(transport().sendMail({ from: 'a@example.test', to: 'b@example.test', subject: 's', text: 't' })).rejects.toMatchObject({
      responseCode: 550,
    });
    expect(sink.messages()).toHaveLength(0);
    expect(sink.rejections()).toBe(2);

    sink.setReply(null);
    await transport().sendMail({ from: 'a@example.test', to: 'b@example.test', subject: 'ok', text: 't' });
    expect(sink.messages().map((mail) => mail.subject)).toEqual(['ok']);
  });

  test('a reply limited to some times and one recipient', async () => {
    sink.setReply(451, { times: 1, recipient: 'flaky@example.test' });
    await transport().sendMail({ from: 'a@example.test', to: 'fine@example.test', subject: 'unaffected', text: 't' });
    await expect(
      transport().sendMail({ from: 'a@example.test', to: 'flaky@example.test', subject: 'first', text: 't' }),
    ).rejects.toMatchObject({
      responseCode: 451,
    });
    await transport().sendMail({ from: 'a@example.test', to: 'flaky@example.test', subject: 'retried', text: 't' });
    expect(sink.messages().map((mail) => mail.subject)).toEqual(['unaffected', 'retried']);
  });

  test('waitFor rejects on timeout', async () => {
    await expect(sink.waitFor((messages) => messages.length > 0, 50)).rejects.toThrow(/within 50 ms/);
  });
});
