/**
 * A free port can be taken between the probe and Postgres binding it (CI saw it happen to the Temporal dev
 * server). The probe is made to answer a port this test holds, once: the real Postgres fails to bind it, and
 * the start goes on with another port.
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

const taken: { port?: number } = {};
jest.mock('../../../src/dev/ports', () => {
  const actual = jest.requireActual('../../../src/dev/ports');
  return {
    ...actual,
    freePort: async (...args: unknown[]) => {
      const port = taken.port;
      taken.port = undefined;
      return port ?? actual.freePort(...args);
    },
  };
});

// Imported after the mock is declared (jest hoists jest.mock; this keeps the order plain to read).
import { startEmbeddedPostgres } from '../../../src/dev/embedded-postgres';

jest.setTimeout(60_000);

test('a port taken before Postgres binds it: started again on another, and said so', async () => {
  const holder = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => holder.listen({ port: 0, host: '127.0.0.1' }, resolve));
  taken.port = (holder.address() as AddressInfo).port;
  const held = taken.port;
  const base = await mkdtemp(join(tmpdir(), 'forge-pg-port-'));
  await chmod(base, 0o755);
  const lines: string[] = [];
  try {
    const pg = await startEmbeddedPostgres({ dataDir: join(base, 'data'), log: (line) => lines.push(line) });
    try {
      expect(pg.port).not.toBe(held);
      const client = new Client({ connectionString: pg.url });
      await client.connect();
      expect((await client.query('select 1 as one')).rows[0].one).toBe(1);
      await client.end();
    } finally {
      await pg.stop();
    }
    expect(lines).toContainEqual(expect.stringMatching(new RegExp(`port ${held} was taken before it bound \\(attempt 1\\)`)));
  } finally {
    await new Promise((resolve) => holder.close(resolve));
    await rm(base, { recursive: true, force: true });
  }
});

test('a port the caller chose is not changed: its clash is reported', async () => {
  const holder = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => holder.listen({ port: 0, host: '127.0.0.1' }, resolve));
  const port = (holder.address() as AddressInfo).port;
  const base = await mkdtemp(join(tmpdir(), 'forge-pg-port-'));
  await chmod(base, 0o755);
  try {
    await expect(startEmbeddedPostgres({ dataDir: join(base, 'data'), port })).rejects.toThrow(/could not bind|address already in use/i);
  } finally {
    await new Promise((resolve) => holder.close(resolve));
    await rm(base, { recursive: true, force: true });
  }
});
