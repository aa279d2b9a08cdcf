/**
 * The worker's own way to its database: DATABASE_URL when set, otherwise (the embedded adapter) an embedded
 * Postgres it starts through the opener it is given (embeddedDatabase of forge-jobs/admin) and stops itself.
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { resolveRuntimeConfig } from '../../src';
import { embeddedDatabase } from '../../src/admin';
import { createMemoryLogger } from '../../src/log';
import { createTestDatabase } from '../support/db';
import { HELPDESK } from '../support/helpdesk';
import { startTestStack, temporalAddress, uniqueQueue } from '../support/stack';

const artifact = join(HELPDESK, 'artifact.json');

async function hasForgeSchema(url: string): Promise<boolean> {
  const pg = new Client({ connectionString: url });
  await pg.connect();
  try {
    const { rows } = await pg.query(`SELECT to_regclass('forge_jobs.outbox') IS NOT NULL AS ok`);
    return rows[0].ok;
  } finally {
    await pg.end();
  }
}

test('with DATABASE_URL the worker migrates and serves that database', async () => {
  const db = await createTestDatabase('worker_url');
  try {
    const config = resolveRuntimeConfig(
      { temporal: { address: temporalAddress() }, jobs: { task_queue: uniqueQueue('worker-url') } },
      { env: { DATABASE_URL: db.url } },
    );
    expect(config.database).toEqual({ adapter: 'postgres', url: db.url });
    // no pool: the worker opens the config's database itself
    const stack = await startTestStack({ artifact, config });
    expect(await hasForgeSchema(db.url)).toBe(true);
    await stack.stop();
  } finally {
    await db.drop();
  }
});

test('without any database url the worker starts an embedded Postgres through its opener, and stops it on shutdown', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'forge-worker-cache-'));
  chmodSync(cache, 0o755); // the postgres user must reach the data dir when we run as root
  const saved = { cache: process.env.FORGE_JOBS_CACHE_DIR, url: process.env.DATABASE_URL };
  process.env.FORGE_JOBS_CACHE_DIR = cache;
  delete process.env.DATABASE_URL;
  try {
    const config = resolveRuntimeConfig(
      { database: { adapter: 'embedded' }, temporal: { address: temporalAddress() }, jobs: { task_queue: uniqueQueue('worker-embedded') } },
      { env: {} },
    );
    const logger = createMemoryLogger();
    const stack = await startTestStack({ artifact, config, logger, worker: { database: embeddedDatabase } });
    const started = logger.records.find((r) => r.event === 'database.embedded_started');
    expect(started).toBeDefined();
    const url = String(started!.url).replace(':***@', ':postgres@');
    expect(await hasForgeSchema(url)).toBe(true);
    await stack.stop();
    await expect(hasForgeSchema(url)).rejects.toThrow();
  } finally {
    process.env.FORGE_JOBS_CACHE_DIR = saved.cache;
    if (saved.url !== undefined) process.env.DATABASE_URL = saved.url;
    if (saved.cache === undefined) delete process.env.FORGE_JOBS_CACHE_DIR;
    rmSync(cache, { recursive: true, force: true });
  }
});
