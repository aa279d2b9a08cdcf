import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { Connection } from '@temporalio/client';
import { DEFAULT_NAMESPACE, SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTE_TYPES } from '../names';
import { freePorts, startOnFreePorts } from './ports';
import { keepWhileAlive } from './keeper';
import { stopProcessGroup } from './process-tree';
import { ensureSearchAttributes } from '../temporal/register';
import { serverTuningFlags } from './server-tuning';
import { logRing, untilReady } from './supervise';

export interface TemporalDevServerOptions {
  cliPath: string;
  /** gRPC port; a free one by default. */
  port?: number;
  /** Web UI port; a free one by default. */
  uiPort?: number;
  /** SQLite file that keeps workflows across restarts; in-memory when absent. */
  dbFilename?: string;
  /** Created at launch when it is not "default" (which always exists). */
  namespace?: string;
  log?: (line: string) => void;
  extraArgs?: string[];
  /** How long to wait for the server to answer. Default 60 s. */
  readyTimeoutMs?: number;
  /** false: a bare server without the Forge search attributes, as an application's own server may be. */
  searchAttributes?: boolean;
  /** the server's own output goes here (appended) instead of `log` */
  logFile?: string;
}

export interface TemporalDevServer {
  /** host:port of the gRPC frontend. */
  address: string;
  namespace: string;
  uiUrl: string;
  process: ChildProcess;
  /** where its output goes, when it goes to a file */
  logFile?: string;
  stop(): Promise<void>;
}

/** `temporal server start-dev` on 127.0.0.1 with the Forge search attributes, resolved once it answers. */
export async function startTemporalDevServer(options: TemporalDevServerOptions): Promise<TemporalDevServer> {
  // Retried even when the caller fixed port and uiPort: the clash may be on the HTTP or metrics port we chose.
  return startOnFreePorts({
    what: 'Temporal dev server',
    pick: () => pickPorts(options.port, options.uiPort),
    start: (ports) => launch(options, ports),
    log: options.log,
  });
}

async function launch(
  options: TemporalDevServerOptions,
  [port, uiPort, httpPort, metricsPort]: readonly number[],
): Promise<TemporalDevServer> {
  const log = options.log ?? (() => undefined);
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--http-port',
    String(httpPort),
    '--metrics-port',
    String(metricsPort),
    '--log-level',
    'warn',
    ...serverTuningFlags(),
    ...(options.searchAttributes === false
      ? []
      : SEARCH_ATTRIBUTES.flatMap((name) => ['--search-attribute', `${name}=${SEARCH_ATTRIBUTE_TYPES[name]}`])),
    ...(namespace !== DEFAULT_NAMESPACE ? ['--namespace', namespace] : []),
    ...(options.dbFilename ? ['--db-filename', options.dbFilename] : []),
    ...(options.extraArgs ?? []),
  ];
  const address = `127.0.0.1:${port}`;
  if (options.dbFilename) await mkdir(dirname(options.dbFilename), { recursive: true });
  log(`starting Temporal dev server on ${address} (UI http://127.0.0.1:${uiPort})`);

  // Its own process group, so stop() reaches anything it spawned; its output to a file when one is named.
  const logFd = options.logFile ? await openLog(options.logFile) : undefined;
  const child = spawn(options.cliPath, args, { detached: true, stdio: ['ignore', logFd ?? 'pipe', logFd ?? 'pipe'] });
  if (logFd !== undefined) closeSync(logFd); // the child has its own copy
  // A group of its own is out of reach of a signal to ours: the keeper stops it when we go, however we go.
  const keeper = keepWhileAlive(child);
  const output = logRing(40, (line) => log(`[temporal] ${line}`));
  child.stdout?.on('data', output.add);
  child.stderr?.on('data', output.add);
  const tail = async () =>
    options.logFile
      ? (await readFile(options.logFile, 'utf8').catch(() => ''))
          .split('\n')
          .filter((l) => l.trim())
          .slice(-20)
      : output.lines();

  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= stopProcessGroup(child, 5000).finally(() => keeper.release()));

  // The readiness loop stops as soon as the server has exited, instead of polling until the deadline.
  await untilReady(child, {
    ready: async (signal) => {
      const connection = await waitUntilServing(address, namespace, options.readyTimeoutMs ?? 60_000, signal);
      try {
        if (options.searchAttributes !== false) await ensureSearchAttributes(connection, namespace);
      } finally {
        await connection.close();
      }
    },
    exited: async (code, signal) => {
      // piped output may still be in the pipes when it exits: read what is left (briefly) before quoting it
      if (!options.logFile) await Promise.race([Promise.all([ended(child.stdout), ended(child.stderr)]), delay(500)]);
      return new Error(`temporal server start-dev exited (${signal ?? code}) before it was ready:\n${(await tail()).join('\n')}`);
    },
    failed: (error) => new Error(`could not run ${options.cliPath}: ${error.message}`),
    stop,
  });
  log(`Temporal dev server ready on ${address}${options.logFile ? ` (log ${options.logFile})` : ''}`);
  return {
    address,
    namespace,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    process: child,
    stop,
    ...(options.logFile && { logFile: options.logFile }),
  };
}

/** Appends to the log file (its directory made), each run starting with a line saying when. */
async function openLog(file: string): Promise<number> {
  await mkdir(dirname(file), { recursive: true });
  const fd = openSync(file, 'a');
  writeSync(fd, `\n--- forge-jobs: temporal server start-dev at ${new Date().toISOString()}\n`);
  return fd;
}

/** start-dev would otherwise pick the HTTP API and metrics ports itself; all four at once, so they don't collide. */
async function pickPorts(port: number | undefined, uiPort: number | undefined): Promise<[number, number, number, number]> {
  const free = (await freePorts(6)).filter((candidate) => candidate !== port && candidate !== uiPort);
  return [port ?? free[0]!, uiPort ?? free[1]!, free[2]!, free[3]!];
}

/**
 * Resolves with a connection once the frontend answers for the namespace: first a cheap TCP probe, then
 * a real call, since the port opens before the namespace and search attributes are in place.
 */
async function waitUntilServing(address: string, namespace: string, timeoutMs: number, signal: AbortSignal): Promise<Connection> {
  const deadline = Date.now() + timeoutMs;
  const [host, portText] = address.split(':') as [string, string];
  let lastError: unknown;
  while (Date.now() < deadline && !signal.aborted) {
    if (await canConnect(host, Number(portText))) {
      let connection: Connection | undefined;
      try {
        connection = await Connection.connect({ address, connectTimeout: 2000 });
        await connection.workflowService.getSystemInfo({});
        await connection.workflowService.describeNamespace({ namespace });
        if (!signal.aborted) return connection;
        await connection.close();
      } catch (error) {
        lastError = error;
        await connection?.close().catch(() => undefined);
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(
    `Temporal dev server on ${address} did not answer within ${timeoutMs / 1000}s${lastError ? `: ${(lastError as Error).message}` : ''}`,
  );
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host, port });
    socket.setTimeout(1000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

function ended(stream: Readable | null): Promise<void> {
  if (!stream || stream.readableEnded) return Promise.resolve();
  return new Promise((resolve) => {
    stream.once('end', () => resolve());
    stream.once('close', () => resolve());
  });
}

const delay = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
