/**
 * A scripted SMTP server on 127.0.0.1 for what smtp-server cannot be told to do: refuse MAIL or the DATA
 * command, close mid-transaction, never greet, answer EHLO with an error. It records what each connection
 * received, chunk by chunk, to show which commands arrived in one write.
 */
import { createServer, type AddressInfo, type Socket } from 'node:net';

export interface FakeSession {
  /** connection number, from 1 */
  id: number;
  /** transactions (MAIL FROM) seen on this connection */
  mails: number;
  socket: Socket;
}

/**
 * A reply for a command ('MAIL FROM:<a@b>', 'DATA', or '.' for the end of the message): a reply text
 * (without the final CRLF), 'close' to drop the connection, 'silent' to say nothing, or undefined for the default.
 */
export type Responder = (command: string, session: FakeSession) => string | 'close' | 'silent' | undefined;

export interface FakeServerOptions {
  /** the greeting, or null for none (a server that never answers) */
  greeting?: string | null;
  /** extension lines of the EHLO reply */
  extensions?: string[];
  respond?: Responder;
}

export interface FakeServer {
  port: number;
  /** connections accepted */
  connections(): number;
  /** every chunk received, per connection id */
  chunks: Map<number, string[]>;
  /** every command received, in order ('.' for each message end) */
  commands: string[];
  /** messages received (the text between DATA and the final dot) */
  messages: string[];
  /** the connections open now */
  sockets(): Socket[];
  close(): Promise<void>;
}

export async function startFakeSmtp(options: FakeServerOptions = {}): Promise<FakeServer> {
  const extensions = options.extensions ?? ['PIPELINING', '8BITMIME', 'SMTPUTF8'];
  const chunks = new Map<number, string[]>();
  const commands: string[] = [];
  const messages: string[] = [];
  const sockets = new Set<Socket>();
  let count = 0;

  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    const session: FakeSession = { id: ++count, mails: 0, socket };
    const received: string[] = [];
    chunks.set(session.id, received);
    let buffer = '';
    let inData = false;
    let body = '';
    const answer = (command: string, fallback: string) => {
      commands.push(command);
      const r = options.respond?.(command, session);
      if (r === 'close') {
        socket.destroy();
        return false;
      }
      if (r === 'silent') return true;
      socket.write((r ?? fallback) + '\r\n');
      return true;
    };
    if (options.greeting !== null) socket.write((options.greeting ?? '220 fake.test ESMTP') + '\r\n');
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      received.push(chunk);
      buffer += chunk;
      for (;;) {
        const end = buffer.indexOf('\r\n');
        if (end < 0) return;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            messages.push(body);
            body = '';
            if (!answer('.', '250 2.0.0 queued')) return;
          } else body += (line.startsWith('..') ? line.slice(1) : line) + '\r\n';
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        let fallback = '250 2.0.0 ok';
        if (verb === 'EHLO' && extensions.length > 0)
          fallback = ['250-fake.test', ...extensions.slice(0, -1).map((e) => `250-${e}`), `250 ${extensions[extensions.length - 1]}`].join(
            '\r\n',
          );
        if (verb === 'EHLO' && extensions.length === 0) fallback = '250 fake.test';
        if (verb === 'MAIL') session.mails++;
        if (verb === 'DATA') fallback = '354 go ahead';
        if (verb === 'QUIT') fallback = '221 bye';
        const r = options.respond?.(line, session);
        commands.push(line);
        if (r === 'close') {
          socket.destroy();
          return;
        }
        if (r !== 'silent') socket.write((r ?? fallback) + '\r\n');
        if (verb === 'DATA' && (r ?? fallback).startsWith('354')) inData = true;
        if (verb === 'QUIT') socket.end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => count,
    chunks,
    commands,
    messages,
    sockets: () => [...sockets],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
