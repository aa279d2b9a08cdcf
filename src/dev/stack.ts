/**
 * `forge-jobs dev`: the whole pipeline on one machine — Temporal dev server with its Web UI, Postgres
 * (embedded unless DATABASE_URL), a mail sink, the worker and the example app server.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { loadArtifact } from '../artifact';
import { createJobClient } from '../client';
import { createJobInspector } from '../client/inspect';
import { loadRuntimeConfig } from '../config';
import type { RuntimeConfig } from '../config/types';
import { startAppServer } from './example-app';
import { installCapture } from '../capture';
import { maxRecordBytes } from '../outbox/event';
import { createLogger } from '../log';
import { resolveDatabase } from './embedded-postgres';
import type { Pool } from 'pg';
import { createPool } from '../postgres/pool';
import { findTemporalCli } from './temporal-cli';
import { startTemporalDevServer } from './temporal-dev-server';
import { createJobWorker } from '../worker';
import { cacheDir } from './cache-dir';
import { startMailSink } from './mail-sink';
import { freePort } from './ports';
import { devJobsEndpoints } from './endpoints';
import { DevStackInterrupted } from './interrupted';

export interface DevStackOptions {
  artifact: string;
  config: string;
  schema?: string;
  /** apply the artifact's own migration.up, as Forge's runtime does, when no schema file is given */
  migrate?: boolean;
  seed?: string;
  appPort?: number;
  log?: (line: string) => void;
  /** install database capture for the artifact's after hooks (default true): SQL from psql starts jobs too */
  capture?: boolean;
  /** aborted (Ctrl-C while starting): what has started is stopped and the start rejects with DevStackInterrupted */
  signal?: AbortSignal;
}

export interface DevStack {
  urls: { ui: string; temporal: string; postgres: string; smtp: string; mail: string; app: string };
  /** where the Temporal dev server's own output goes */
  temporalLog: string;
  /** stops every part, newest first; resolves with the names of the parts stopped */
  stop(): Promise<string[]>;
}

export { DevStackInterrupted };

export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const log = options.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const stops: Array<{ name: string; stop: () => Promise<unknown> }> = [];
  const started = (name: string, stop: () => Promise<unknown>) => stops.push({ name, stop });
  const stop = async () => {
    const stopped: string[] = [];
    for (const s of stops.splice(0).reverse()) {
      await s.stop().then(
        () => stopped.push(s.name),
        (err) => log(`stop ${s.name}: ${(err as Error).message}`),
      );
    }
    return stopped;
  };
  const checkpoint = () => {
    if (options.signal?.aborted) throw new DevStackInterrupted();
  };
  try {
    const artifact = loadArtifact(options.artifact);
    const cliPath = await findTemporalCli({ log, allowBuild: true });
    checkpoint();
    const home = cacheDir();
    const temporalLog = join(home, 'logs', 'temporal-dev.log');
    // Both at once; whichever starts is stopped again when the other fails.
    const [temporal, db] = await Promise.allSettled([
      preferPort(7233).then(async (port) =>
        startTemporalDevServer({
          cliPath,
          port,
          uiPort: await preferPort(8233),
          dbFilename: join(home, 'temporal-dev.db'),
          log,
          logFile: temporalLog,
        }),
      ),
      resolveDatabase({ url: process.env.DATABASE_URL, log }),
    ]);
    if (temporal.status === 'fulfilled') started('Temporal dev server', () => temporal.value.stop());
    if (db.status === 'fulfilled') started(db.value.embedded ? 'embedded Postgres' : 'database connection', () => db.value.stop());
    if (temporal.status === 'rejected') throw temporal.reason;
    if (db.status === 'rejected') throw db.reason;
    checkpoint();

    const pool = createPool({ connectionString: db.value.url, max: 20 }, (err) => log(`postgres: ${err.message}`));
    started('database pool', () => pool.end());
    await loadExampleData(pool, options, log);
    checkpoint();

    const sink = await startMailSink({ smtpPort: await preferPort(1025), webPort: await preferPort(8025), dir: join(home, 'mail') });
    started('mail sink', () => sink.close());
    checkpoint();

    const config: RuntimeConfig = withDevServices(loadRuntimeConfig(options.config), {
      temporal: temporal.value.address,
      smtpPort: sink.smtpPort,
    });
    const logger = createLogger();
    const worker = createJobWorker({ artifact, config, database: pool, logger });
    const running = worker.run();
    started('worker', async () => {
      worker.shutdown();
      await running;
    });
    await Promise.race([worker.ready, running]);
    checkpoint();
    if (options.capture !== false) {
      const changes = await installCapture(pool, artifact, maxRecordBytes(config));
      log(
        `capture: triggers on ${[...new Set(changes.map((c) => c.table))].join(', ') || 'no tables'} write every committed row into the outbox`,
      );
    }

    const client = createJobClient({ artifact, config, logger, database: pool });
    const inspector = createJobInspector({ config, database: pool });
    // one line in the stop summary: the inspector serves the app's dev endpoints beside the client
    started('job client', async () => {
      await client.close();
      await inspector.close();
    });
    const app = await startAppServer({
      pool,
      client,
      artifact: worker.artifact,
      port: await preferPort(options.appPort ?? 3000),
      devRoutes: devJobsEndpoints(inspector),
    });
    started('app server', () => app.close());
    checkpoint();

    return {
      urls: {
        ui: temporal.value.uiUrl,
        temporal: temporal.value.address,
        postgres: db.value.url,
        smtp: `127.0.0.1:${sink.smtpPort}`,
        mail: sink.webUrl,
        app: app.url,
      },
      temporalLog,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The config's services replaced by the ones this stack started; everything else as the file says. */
function withDevServices(config: RuntimeConfig, dev: { temporal: string; smtpPort: number }): RuntimeConfig {
  return {
    ...config,
    temporal: { ...config.temporal, address: dev.temporal },
    email: {
      host: '127.0.0.1',
      from: config.email?.from ?? 'forge-jobs@localhost',
      ...config.email,
      port: dev.smtpPort,
      tls: false,
      user: undefined,
      password: undefined,
    },
  };
}

/**
 * Schema and seed run once: a database that already has the schema is left as it is. The schema is a
 * file, or the artifact's migration.up (one script, so it applies whole or not at all).
 */
async function loadExampleData(pool: Pool, options: DevStackOptions, log: (line: string) => void): Promise<void> {
  const schema = options.schema ? readFileSync(options.schema, 'utf8') : options.migrate ? artifactMigration(options.artifact) : undefined;
  if (schema === undefined) return;
  try {
    await pool.query(schema);
  } catch (err) {
    if ((err as { code?: string }).code === '42P07' || (err as { code?: string }).code === '42710') return; // already there
    throw err;
  }
  if (options.seed) await pool.query(readFileSync(options.seed, 'utf8'));
  const from = options.schema ?? `the migration of ${options.artifact}`;
  log(`loaded ${from}${options.seed ? ` and ${options.seed}` : ''}`);
}

function artifactMigration(artifactPath: string): string | undefined {
  const up = (JSON.parse(readFileSync(artifactPath, 'utf8')) as { migration?: { up?: unknown } }).migration?.up;
  const text = typeof up === 'string' ? up : Array.isArray(up) ? up.filter((l): l is string => typeof l === 'string').join('\n') : '';
  return text.trim() === '' ? undefined : text;
}

/** The well-known port when it is free (stable addresses for a person), any free port otherwise. */
function preferPort(port: number): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(freePort()));
    probe.listen({ port, host: '127.0.0.1', exclusive: true }, () => probe.close(() => resolve(port)));
  });
}
