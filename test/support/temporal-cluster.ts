/**
 * The production profile, run locally: Temporal's own server binary (all four services in one process)
 * on PostgreSQL, the way a cluster runs it, instead of the dev server. Its config is modelled on the
 * module's config/development-postgres12.yaml, with free ports; the schema is created with Temporal's
 * sql tool; the namespace and the Forge search attributes are registered as `forge-jobs setup` does.
 *
 * docker-compose.yml describes the same profile with containers (test/unit/deploy keeps them in step).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Connection } from '@temporalio/client';
import { freePortsBetween } from '../../src/dev/ports';
import { stopProcessGroup } from '../../src/dev/process-tree';
import { exitOf, logRing, untilReady } from '../../src/dev/supervise';
import { DEFAULT_NAMESPACE, SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTE_TYPES } from '../../src/names';
import { ensureNamespace, ensureSearchAttributes } from '../../src/temporal/register';
import { findTemporalServer, type TemporalServerBinaries } from './temporal-server';
import { serverTuningYaml } from '../../src/dev/server-tuning';

/** The two databases of the profile; docker-compose.yml's schema job creates the same ones. */
export const TEMPORAL_DATABASES = { persistence: 'temporal', visibility: 'temporal_visibility' } as const;
/** The SQL plugin of the profile (DB=postgres12 in the compose file). */
export const TEMPORAL_SQL_PLUGIN = 'postgres12';
/** A namespace's history retention when we register it: 30 days, as `forge-jobs setup` and docker-compose.yml. */
export const DEFAULT_RETENTION_SECONDS = 30 * 24 * 3600;
/** The config the server reads: `--root <dir> --config config --env <this>` loads config/<this>.yaml. */
const CONFIG_ENV = 'forge-cluster';

export interface PostgresEndpoint {
  host: string;
  port: number;
  user: string;
  password?: string;
}

export interface ClusterPorts {
  frontendGrpc: number;
  frontendMembership: number;
  frontendHttp: number;
  historyGrpc: number;
  historyMembership: number;
  matchingGrpc: number;
  matchingMembership: number;
  workerGrpc: number;
  workerMembership: number;
}

export interface TemporalClusterOptions {
  /** An admin URL (postgres://user:pw@host:port/db; the path is ignored) or the endpoint's parts. */
  postgres: string | PostgresEndpoint;
  /** Fixed ports; free ones are picked for the others. They stay the same across restart(). */
  ports?: Partial<ClusterPorts>;
  /** Where config/ and the server's files go; a fresh temp directory by default. */
  dir?: string;
  namespace?: string;
  retentionSeconds?: number;
  /** The server's own log level (its lines go to `log` prefixed [temporal-server]). Default warn. */
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
  /** Default: findTemporalServer() (cached build, else `go install`). */
  binaries?: TemporalServerBinaries;
  log?: (line: string) => void;
  /** How long a (re)start may take to answer with the namespace ready. Default 90 s. */
  readyTimeoutMs?: number;
}

export interface TemporalCluster {
  /** host:port of the frontend's gRPC. */
  address: string;
  namespace: string;
  ports: ClusterPorts;
  /** the directory holding config/<env>.yaml and config/dynamicconfig/ */
  dir: string;
  /** the running server process (replaced by restart()) */
  readonly process: ChildProcess;
  /** SIGTERM (or the signal given) to the process group, SIGKILL after a grace period; resolves on exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
  /** SIGKILL, as a crash: no shutdown at all. Resolves on exit. */
  kill(): Promise<void>;
  /** Starts the server again on the same ports and databases; resolves when it answers. */
  restart(): Promise<void>;
}

/** Creates the schema (idempotent), writes the config, starts the server and waits for the namespace. */
export async function startTemporalCluster(options: TemporalClusterOptions): Promise<TemporalCluster> {
  const log = options.log ?? (() => undefined);
  const pg = endpoint(options.postgres);
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const binaries = options.binaries ?? (await findTemporalServer({ log }));
  const ports = await pickPorts(options.ports);
  const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'forge-temporal-cluster-')));
  const address = `127.0.0.1:${ports.frontendGrpc}`;

  await setupSchemas(binaries, pg, log);
  await writeClusterConfig(dir, { pg, ports, logLevel: options.logLevel ?? 'warn' });

  let child: ChildProcess | undefined;
  const output = logRing(40, (line) => log(`[temporal-server] ${line}`));
  const launch = async (): Promise<void> => {
    log(`starting the Temporal server ${address} (${TEMPORAL_SQL_PLUGIN} on ${pg.host}:${pg.port})`);
    const started = spawn(binaries.server, ['--root', dir, '--config', 'config', '--env', CONFIG_ENV, '--allow-no-auth', 'start'], {
      cwd: dir,
      detached: true, // its own process group: stop() and kill() reach all of it
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    started.stdout?.on('data', output.add);
    started.stderr?.on('data', output.add);
    await untilReady(started, {
      ready: (signal) =>
        waitUntilReady(address, namespace, options.retentionSeconds ?? DEFAULT_RETENTION_SECONDS, options.readyTimeoutMs ?? 90_000, signal),
      exited: (code, signal) =>
        new Error(`the Temporal server exited (${signal ?? code}) before it was ready:\n${output.lines().join('\n')}`),
      failed: (error) => new Error(`could not run ${binaries.server}: ${error.message}`),
      stop: () => stopProcessGroup(started, 3000),
    });
    log(`Temporal server ready on ${address} (namespace ${namespace})`);
  };

  await launch();
  return {
    address,
    namespace,
    ports,
    dir,
    get process() {
      return child!;
    },
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      const proc = child!;
      if (signal === 'SIGTERM') return stopProcessGroup(proc, 10_000);
      const gone = exitOf(proc);
      try {
        process.kill(-proc.pid!, signal);
      } catch {
        /* already gone */
      }
      await gone;
    },
    async kill() {
      const proc = child!;
      const gone = exitOf(proc);
      try {
        process.kill(-proc.pid!, 'SIGKILL');
      } catch {
        /* already gone */
      }
      await gone;
    },
    async restart() {
      const proc = child!;
      if (proc.exitCode === null && proc.signalCode === null) await stopProcessGroup(proc, 10_000);
      await launch();
    },
  };
}

function endpoint(postgres: string | PostgresEndpoint): PostgresEndpoint {
  if (typeof postgres !== 'string') return postgres;
  const url = new URL(postgres);
  return {
    host: url.hostname || '127.0.0.1',
    port: Number(url.port || 5432),
    user: decodeURIComponent(url.username || 'postgres'),
    password: url.password ? decodeURIComponent(url.password) : undefined,
  };
}

async function pickPorts(fixed: Partial<ClusterPorts> = {}): Promise<ClusterPorts> {
  const names: (keyof ClusterPorts)[] = [
    'frontendGrpc',
    'frontendMembership',
    'frontendHttp',
    'historyGrpc',
    'historyMembership',
    'matchingGrpc',
    'matchingMembership',
    'workerGrpc',
    'workerMembership',
  ];
  const taken = new Set(Object.values(fixed));
  // Below 32768: the server keeps its membership ports in a smallint column (cluster_membership rpc_port), so
  // the OS's ephemeral ports (32768 and up on Linux) make it exit at start.
  const free = (await freePortsBetween(names.length + taken.size, 20000, 32000)).filter((port) => !taken.has(port));
  const ports = {} as ClusterPorts;
  for (const name of names) ports[name] = fixed[name] ?? free.shift()!;
  return ports;
}

// ---------------------------------------------------------------------------------------------------
// Schema: create-database, setup-schema -v 0.0, update-schema -d …/versioned, for both databases.

/**
 * Safe on every start, as Temporal's samples run it: create-database and setup-schema leave an existing
 * database and schema version alone (checked against v1.29.1), update-schema applies only what is new.
 */
export async function setupSchemas(
  binaries: TemporalServerBinaries,
  pg: PostgresEndpoint,
  log: (line: string) => void = () => undefined,
): Promise<void> {
  const run = promisify(execFile);
  const base = ['--plugin', TEMPORAL_SQL_PLUGIN, '--endpoint', pg.host, '--port', String(pg.port), '--user', pg.user];
  const env = { ...process.env, SQL_PASSWORD: pg.password ?? '' };
  const sql = async (database: string, args: string[]) => {
    try {
      await run(binaries.sql, [...base, '--database', database, ...args], { env, maxBuffer: 16 * 1024 * 1024 });
    } catch (error) {
      const e = error as { stderr?: string; stdout?: string; message: string };
      throw new Error(
        `temporal-sql-tool ${args[0]} (${database}) failed: ${(e.stderr || e.stdout || e.message).trim().split('\n').slice(-5).join('\n')}`,
      );
    }
  };
  for (const [kind, database] of [
    ['temporal', TEMPORAL_DATABASES.persistence],
    ['visibility', TEMPORAL_DATABASES.visibility],
  ] as const) {
    await sql(database, ['create-database']);
    await sql(database, ['setup-schema', '-v', '0.0']);
    await sql(database, ['update-schema', '-d', join(binaries.schemaDir, kind, 'versioned')]);
  }
  log(`schemas of ${TEMPORAL_DATABASES.persistence} and ${TEMPORAL_DATABASES.visibility} are up to date`);
}

// ---------------------------------------------------------------------------------------------------
// Config: development-postgres12.yaml with our databases, credentials and ports.

export function clusterConfigYaml(options: {
  pg: PostgresEndpoint;
  ports: ClusterPorts;
  logLevel: string;
  dynamicConfigPath: string;
}): string {
  const { pg, ports } = options;
  const q = (value: string) => JSON.stringify(value); // a JSON string is a valid YAML double-quoted scalar
  const store = (database: string, maxConns: number) => `      sql:
        pluginName: ${q(TEMPORAL_SQL_PLUGIN)}
        databaseName: ${q(database)}
        connectAddr: ${q(`${pg.host}:${pg.port}`)}
        connectProtocol: "tcp"
        user: ${q(pg.user)}
        password: ${q(pg.password ?? '')}
        maxConns: ${maxConns}
        maxIdleConns: ${maxConns}
        maxConnLifetime: "1h"`;
  const service = (grpc: number, membership: number, http?: number) => `    rpc:
      grpcPort: ${grpc}
      membershipPort: ${membership}
      bindOnLocalHost: true${http ? `\n      httpPort: ${http}` : ''}`;
  return `# Written by forge-jobs (test/support/temporal-cluster.ts), modelled on config/development-postgres12.yaml of
# go.temporal.io/server: the same server and plugin as docker-compose.yml, on 127.0.0.1 with free ports.
log:
  stdout: true
  level: ${options.logLevel}

persistence:
  defaultStore: postgres-default
  visibilityStore: postgres-visibility
  numHistoryShards: 4
  datastores:
    postgres-default:
${store(TEMPORAL_DATABASES.persistence, 20)}
    postgres-visibility:
${store(TEMPORAL_DATABASES.visibility, 10)}

global:
  membership:
    maxJoinDuration: 30s
    broadcastAddress: "127.0.0.1"
  pprof:
    port: 0

services:
  frontend:
${service(ports.frontendGrpc, ports.frontendMembership, ports.frontendHttp)}
  matching:
${service(ports.matchingGrpc, ports.matchingMembership)}
  history:
${service(ports.historyGrpc, ports.historyMembership)}
  worker:
${service(ports.workerGrpc, ports.workerMembership)}

clusterMetadata:
  enableGlobalNamespace: false
  failoverVersionIncrement: 10
  masterClusterName: "active"
  currentClusterName: "active"
  clusterInformation:
    active:
      enabled: true
      initialFailoverVersion: 1
      rpcName: "frontend"
      rpcAddress: "127.0.0.1:${ports.frontendGrpc}"

dcRedirectionPolicy:
  policy: "noop"

dynamicConfigClient:
  filepath: ${q(options.dynamicConfigPath)}
  pollInterval: "10s"
`;
}

/**
 * Dynamic config: the module's development-sql.yaml settings we rely on, a search attribute cache that is read
 * through, so attributes registered a moment ago are usable at once (as on the dev server), and the latency
 * tuning every server forge-jobs starts has (./server-tuning).
 */
export const CLUSTER_DYNAMIC_CONFIG = `limit.maxIDLength:
  - value: 255
    constraints: {}
system.forceSearchAttributesCacheRefreshOnRead:
  - value: true
    constraints: {}
frontend.enableExecuteMultiOperation:
  - value: true
${serverTuningYaml()}`;

async function writeClusterConfig(dir: string, options: { pg: PostgresEndpoint; ports: ClusterPorts; logLevel: string }): Promise<void> {
  const configDir = join(dir, 'config');
  await mkdir(join(configDir, 'dynamicconfig'), { recursive: true });
  const dynamicConfigPath = join(configDir, 'dynamicconfig', 'forge-cluster.yaml');
  await writeFile(dynamicConfigPath, CLUSTER_DYNAMIC_CONFIG);
  await writeFile(join(configDir, `${CONFIG_ENV}.yaml`), clusterConfigYaml({ ...options, dynamicConfigPath }), { mode: 0o600 });
}

// ---------------------------------------------------------------------------------------------------
// Readiness: the frontend answers, the namespace exists (the sql setup does not create it) and the
// search attributes are registered and queryable.

async function waitUntilReady(
  address: string,
  namespace: string,
  retentionSeconds: number,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline && !signal.aborted) {
    let connection: Connection | undefined;
    try {
      connection = await Connection.connect({ address, connectTimeout: 2000 });
      await connection.withDeadline(Date.now() + 5000, () => connection!.workflowService.getSystemInfo({}));
      await ensureNamespace(connection, namespace, retentionSeconds * 1000);
      await ensureSearchAttributes(connection, namespace);
      // The namespace and attribute caches of the frontend: a query over every attribute works only
      // once both know them.
      await connection.workflowService.countWorkflowExecutions({
        namespace,
        query: SEARCH_ATTRIBUTES.map((name) => (SEARCH_ATTRIBUTE_TYPES[name] === 'Int' ? `${name} = 0` : `${name} = "probe"`)).join(
          ' AND ',
        ),
      });
      return;
    } catch (error) {
      lastError = error;
    } finally {
      await connection?.close().catch(() => undefined);
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(
    `the Temporal server on ${address} was not ready within ${timeoutMs / 1000}s${lastError ? `: ${(lastError as Error).message}` : ''}`,
  );
}
