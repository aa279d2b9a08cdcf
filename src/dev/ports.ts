import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A TCP port that was free on 127.0.0.1 a moment ago, for a server we start in another process.
 *
 * Why not port 0: the OS hands out listening ports from the same ephemeral range it uses for the local
 * end of outgoing connections, so in the moment between our probe closing and the other process binding,
 * any client socket on the machine (a test's pg pool, a gRPC channel) can take it — CI saw a Temporal dev
 * server fail that way. Ports below the ephemeral range are only ever taken by someone listening.
 */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const [low, high] = LISTEN_RANGE;
  for (let tries = 0; tries < 50; tries++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (await canListen(port, host)) return port;
  }
  return ephemeralPort(host);
}

/** Several distinct free ports. */
export async function freePorts(count: number, host = '127.0.0.1'): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) ports.add(await freePort(host));
  return [...ports];
}

/** `count` distinct ports in [low, high) that were free a moment ago, for a server that needs ports in that range. */
export async function freePortsBetween(count: number, low: number, high: number, host = '127.0.0.1'): Promise<number[]> {
  const found = new Set<number>();
  for (let tries = 0; found.size < count && tries < count * 50; tries++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (!found.has(port) && (await canListen(port, host))) found.add(port);
  }
  if (found.size < count) throw new Error(`could not find ${count} free ports between ${low} and ${high}`);
  return [...found];
}

/**
 * Starts a server on ports it picks (`pick`), and again on new ones, a bounded number of times, when one was
 * taken between the probe and the bind (another process got there first).
 * `retry: false` when every port is the caller's: not ours to change, so the clash is reported at once.
 */
export async function startOnFreePorts<P extends number | readonly number[], T>(options: {
  what: string;
  pick: () => Promise<P>;
  start: (ports: P) => Promise<T>;
  retry?: boolean;
  log?: (line: string) => void;
}): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const ports = await options.pick();
    try {
      return await options.start(ports);
    } catch (error) {
      if (options.retry === false || attempt >= PORT_CLASH_ATTEMPTS || !PORT_CLASH.test((error as Error).message)) throw error;
      const list = typeof ports === 'number' ? String(ports) : (ports as readonly number[]).join('/');
      options.log?.(`${options.what}: port ${list} was taken before it bound (attempt ${attempt}); trying other ports`);
    }
  }
}

const PORT_CLASH_ATTEMPTS = 3;
/** Go's and Postgres' words for a bind that failed on a port in use. */
const PORT_CLASH = /address already in use|could not bind/i;

/** The range below the OS's ephemeral one (Linux reads it; elsewhere IANA's 49152 is the usual start). */
const LISTEN_RANGE: readonly [number, number] = (() => {
  let ephemeralLow = 49152;
  try {
    const [first] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
    if (Number(first) > 12000) ephemeralLow = Number(first);
  } catch {
    // not Linux: keep the IANA default
  }
  return [10000, ephemeralLow - 1];
})();

function canListen(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

function ephemeralPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not obtain a free port'))));
    });
  });
}
