/**
 * The courier writes its sent-ledger rows itself (a row written by the worker would die with it), through
 * a pool of its own to the worker's database: the settings are read back from the worker's pg Pool, which
 * is either the caller's or the one the worker made from its database URL.
 */
import type { Pool, PoolConfig } from 'pg';
import type { LedgerDatabase } from './protocol';

const KEYS = ['connectionString', 'host', 'port', 'user', 'database', 'options', 'application_name', 'connectionTimeoutMillis'] as const;

export async function ledgerDatabase(pool: Pool): Promise<LedgerDatabase> {
  const options = ((pool as unknown as { options?: PoolConfig }).options ?? {}) as PoolConfig & Record<string, unknown>;
  const settings: Record<string, unknown> = {};
  for (const key of KEYS) if (options[key] !== undefined && options[key] !== null) settings[key] = options[key];
  // pg also takes a function for the password (rotating credentials): the courier gets its current value.
  const password = typeof options.password === 'function' ? await options.password() : options.password;
  if (typeof password === 'string') settings.password = password;
  // An ssl object may carry a checkServerIdentity function, which cannot cross; certificates and flags can.
  if (typeof options.ssl === 'boolean') settings.ssl = options.ssl;
  else if (options.ssl && typeof options.ssl === 'object') {
    settings.ssl = Object.fromEntries(Object.entries(options.ssl).filter(([, v]) => typeof v !== 'function'));
  }
  return settings as LedgerDatabase;
}
