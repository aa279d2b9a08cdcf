import { Pool, type PoolConfig } from 'pg';

/**
 * A pool that survives its server going away (Postgres restarting, unreachable, stopped before the pool
 * ends): pg emits the error of an idle client on the pool and of a checked-out client (a relay's LISTEN or
 * open transaction) on that client, and throws when no one listens. Their queries fail instead, and are
 * retried where that is the caller's job; pg-pool discards broken clients.
 */
export function createPool(config: PoolConfig, onLost: (err: Error) => void = () => undefined): Pool {
  const pool = new Pool(config);
  pool.on('error', onLost);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}
