import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { freePort, freePorts } from '../../../src/dev/ports';

test('free ports lie below the ephemeral range, where no outgoing connection can take them, and can be bound', async () => {
  const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
  const ports = await freePorts(5);
  expect(new Set(ports).size).toBe(5);
  for (const port of ports) {
    expect(port).toBeGreaterThanOrEqual(10000);
    expect(port).toBeLessThan(ephemeralLow);
    const server = createServer();
    await new Promise<void>((resolve, reject) =>
      server.once('error', reject).listen({ port, host: '127.0.0.1', exclusive: true }, resolve),
    );
    await new Promise((resolve) => server.close(resolve));
  }
  expect(await freePort()).toBeGreaterThan(0);
});
