import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Connection } from '@temporalio/client';
import { isAlive } from '../../../src/dev/process-tree';
import { SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTE_TYPES } from '../../../src/names';
import { INDEXED_VALUE_TYPE } from '../../../src/temporal/register';
import { ensureSearchAttributes, listCustomSearchAttributes } from '../../../src/temporal/register';
import { startTemporalDevServer } from '../../../src/dev/temporal-dev-server';

jest.setTimeout(90_000);

// The real binary: TEMPORAL_CLI_PATH, else the cached build, else the one this machine's setup built.
const candidates = [
  process.env.TEMPORAL_CLI_PATH,
  `${process.env.FORGE_JOBS_CACHE_DIR ?? `${process.env.HOME}/.cache/forge-jobs`}/temporal-v1.5.1/temporal`,
  `${process.env.HOME}/.cache/forge-jobs/tmpbin/temporal`,
];
const cliPath = candidates.find((path): path is string => !!path && existsSync(path));
const withBinary = cliPath ? describe : describe.skip;

withBinary('Temporal dev server', () => {
  test('starts, answers a client, has the Forge search attributes, and leaves no process on stop', async () => {
    const started = Date.now();
    const server = await startTemporalDevServer({ cliPath: cliPath!, namespace: 'forge-test' });
    const startMs = Date.now() - started;
    const pid = server.process.pid!;
    try {
      expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
      expect(server.uiUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const connection = await Connection.connect({ address: server.address });
      try {
        const info = await connection.workflowService.getSystemInfo({});
        expect(info.serverVersion).toBeTruthy();
        const attributes = await listCustomSearchAttributes(connection, 'forge-test');
        for (const name of SEARCH_ATTRIBUTES) expect(attributes[name]).toBe(INDEXED_VALUE_TYPE[SEARCH_ATTRIBUTE_TYPES[name]]);
        // Idempotent on a namespace that already has them.
        await ensureSearchAttributes(connection, 'forge-test');
        await ensureSearchAttributes(connection, 'default');
        const raw = await connection.operatorService.listSearchAttributes({ namespace: 'default' });
        expect(Object.keys(raw.customAttributes ?? {})).toEqual(expect.arrayContaining([...SEARCH_ATTRIBUTES]));
      } finally {
        await connection.close();
      }
      const page = await fetch(server.uiUrl);
      expect(page.status).toBe(200);
    } finally {
      await server.stop();
    }
    expect(isAlive(pid)).toBe(false);
    expect(startMs).toBeLessThan(30_000);
  });

  test('keeps its state in dbFilename across restarts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'forge-temporal-db-'));
    const dbFilename = join(dir, 'nested', 'temporal.db');
    try {
      for (let run = 0; run < 2; run++) {
        const server = await startTemporalDevServer({ cliPath: cliPath!, dbFilename });
        try {
          const connection = await Connection.connect({ address: server.address });
          try {
            const attributes = await listCustomSearchAttributes(connection);
            for (const name of SEARCH_ATTRIBUTES) expect(attributes[name]).toBe(INDEXED_VALUE_TYPE[SEARCH_ATTRIBUTE_TYPES[name]]);
          } finally {
            await connection.close();
          }
        } finally {
          await server.stop();
        }
        expect(existsSync(dbFilename)).toBe(true);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('a port taken before the server binds it: tried again, a bounded number of times, then the clash reported', async () => {
    // Holds the port and hangs up on whoever connects (the readiness probe would otherwise wait on it).
    const holder = createServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => holder.listen({ port: 0, host: '127.0.0.1' }, resolve));
    const taken = (holder.address() as AddressInfo).port;
    const lines: string[] = [];
    try {
      await expect(
        startTemporalDevServer({ cliPath: cliPath!, port: taken, log: (line) => lines.push(line), readyTimeoutMs: 20_000 }),
      ).rejects.toThrow(/address already in use/);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
    expect(lines.filter((line) => /port [\d/]+ was taken before it bound/.test(line))).toHaveLength(2);
  });

  test('reports a start failure with the server output', async () => {
    await expect(startTemporalDevServer({ cliPath: cliPath!, extraArgs: ['--no-such-flag'], readyTimeoutMs: 10_000 })).rejects.toThrow(
      /exited/,
    );
  });
});

test('a missing binary fails fast', async () => {
  const started = Date.now();
  await expect(startTemporalDevServer({ cliPath: '/nonexistent/temporal' })).rejects.toThrow(/could not run/);
  expect(Date.now() - started).toBeLessThan(5000);
});
