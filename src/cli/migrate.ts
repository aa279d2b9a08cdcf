/** `forge-jobs migrate`: creates forge-jobs' own tables (schema forge_jobs) in the app's database; idempotent. */
import { migrate } from '../admin';
import { loadConfig, openPool, redactUrl, resolveDatabaseUrl } from './config';
import { print, printJson, progress } from './format';
import type { ConfigFlags, DatabaseFlags, JsonFlags } from './options';

export type MigrateFlags = ConfigFlags & DatabaseFlags & JsonFlags;

export async function migrateCommand(flags: MigrateFlags): Promise<void> {
  const url = resolveDatabaseUrl(flags, loadConfig(flags));
  progress(`migrating ${redactUrl(url)}…`);
  const pool = await openPool(url, 1);
  try {
    const applied = await migrate(pool);
    if (flags.json) printJson({ applied });
    else if (applied.length === 0) print('forge_jobs schema is up to date');
    else print(`applied migration${applied.length > 1 ? 's' : ''} ${applied.join(', ')}`);
  } finally {
    await pool.end();
  }
}
