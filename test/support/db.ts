import { randomBytes } from 'node:crypto';
import { Pool } from 'pg';

/** The admin URL of the run's shared Postgres (set by global setup), or the machine's own for a quick local run. */
export function adminUrl(): string {
  return process.env.FORGE_TEST_PG_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

export interface TestDatabase {
  url: string;
  pool: Pool;
  drop(): Promise<void>;
}

/** A fresh database per test file, so files share one Postgres without sharing rows. */
export async function createTestDatabase(prefix = 'forge_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new Pool({ connectionString: adminUrl(), max: 1 });
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  const pool = new Pool({ connectionString: url.toString(), max: 10 });
  // DROP … WITH (FORCE) ends connections that are still closing; that is expected, not a test failure.
  pool.on('error', () => undefined);
  return {
    url: url.toString(),
    pool,
    async drop() {
      await pool.end();
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    },
  };
}
