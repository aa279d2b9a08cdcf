/** What every scenario gets from bench/run.ts: the stack, the app's pool and clients, and the knobs. */
import type { Client } from '@temporalio/client';
import type { Pool } from 'pg';
import type { JobClient } from '../src';
import type { Artifact } from '../src/artifact/types';
import type { RuntimeConfig } from '../src/config/types';
import type { HttpSink, SmtpSink } from '../test/support/sinks';

export interface BenchContext {
  quick: boolean;
  rounds: number;
  temporal: string;
  databaseUrl: string;
  /** the app's pool */
  pool: Pool;
  smtp: SmtpSink;
  http: HttpSink;
  config: RuntimeConfig;
  artifact: Artifact;
  /** the app's forge-jobs client, on the worker's task queue */
  jobs: JobClient;
  /** a plain Temporal client (results, histories, the baseline's starts) */
  temporalClient: Client;
  baselineQueue: string;
  /** the raw runtime config of the bench app, on another task queue when given */
  rawConfig(overrides: { taskQueue: string }): ReturnType<typeof import('./app').rawConfig>;
  /** one more forge-jobs worker process with this raw config (its own task queue) */
  startForgeWorker(name: string, config: object): Promise<{ pid: number; stop(): Promise<void> }>;
  /** resolves once `n` workers poll the activity task queue, and they have had time to see each other */
  lanePollers(taskQueue: string, n: number): Promise<void>;
  log(line: string): void;
}

export type Results = Record<string, unknown>;

/** Inserts one ticket of `orgId` in its own transaction and returns the committed row. */
export async function insertTicket(pool: Pool, orgId: number, subject: string): Promise<Record<string, unknown>> {
  const tx = await pool.connect();
  try {
    await tx.query('BEGIN');
    const { rows } = await tx.query('INSERT INTO tickets (org_id, subject, body) VALUES ($1, $2, $3) RETURNING *', [
      orgId,
      subject,
      'bench',
    ]);
    await tx.query('COMMIT');
    return rows[0];
  } catch (err) {
    await tx.query('ROLLBACK').catch(() => undefined);
    throw err;
  } finally {
    tx.release();
  }
}
