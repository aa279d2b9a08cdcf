import { homedir } from 'node:os';
import { join } from 'node:path';

/**
 * Where forge-jobs keeps what is expensive to make (the Temporal CLI build, the embedded Postgres data):
 * outside the repository so `git clean` and fresh checkouts don't pay for it again.
 */
export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.FORGE_JOBS_CACHE_DIR || join(homedir(), '.cache', 'forge-jobs');
}
