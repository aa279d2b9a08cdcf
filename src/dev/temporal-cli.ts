import { mkdir, readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { cacheDir as defaultCacheDir } from './cache-dir';
import { findGo, findOnPath, goInstall, isExecutableFile, provisionDefaults, withBuildLock, type Log } from './go-build';

/** The last Temporal CLI tag that `go install …@tag` can build (later tags carry replace directives). */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_CLI_MODULE = 'github.com/temporalio/cli/cmd/temporal';

export interface FindTemporalCliOptions {
  /** Progress lines (the build takes minutes, so a person should see it move). Default: stderr. */
  log?: (line: string) => void;
  /** Build with `go install` when nothing is cached. Default true. */
  allowBuild?: boolean;
  /** Let the Temporal SDK download its CLI as a last resort (needs the internet). Default true. */
  allowDownload?: boolean;
  /** Overrides for tests; default process.env and FORGE_JOBS_CACHE_DIR / ~/.cache/forge-jobs. */
  env?: NodeJS.ProcessEnv;
  cacheDir?: string;
}

export class TemporalCliNotFoundError extends Error {
  constructor(readonly attempts: string[]) {
    super(
      [
        'No Temporal CLI found. Tried, in order:',
        ...attempts.map((attempt) => `  - ${attempt}`),
        'Fix one of these: install Go (https://go.dev/dl, then forge-jobs builds the CLI once, ~4 min),',
        'install the Temporal CLI (https://docs.temporal.io/cli) and put `temporal` on PATH,',
        'or set TEMPORAL_CLI_PATH to a temporal binary.',
      ].join('\n'),
    );
    this.name = 'TemporalCliNotFoundError';
  }
}

/** Where a `go install` build of the pinned tag is kept. */
export function cachedCliPath(cache: string = defaultCacheDir()): string {
  return join(cache, `temporal-${TEMPORAL_CLI_VERSION}`, 'temporal');
}

/**
 * The path of a Temporal CLI binary: TEMPORAL_CLI_PATH, then `temporal` on PATH, then a cached build,
 * then a fresh `go install` build (cached for next time), then the SDK's download.
 */
export async function findTemporalCli(options: FindTemporalCliOptions = {}): Promise<string> {
  const { env, log, cache } = provisionDefaults(options);
  const attempts: string[] = [];

  const explicit = env.TEMPORAL_CLI_PATH;
  if (explicit) {
    // A wrong explicit setting is a mistake to report, not a reason to quietly pick another binary.
    if (await isExecutableFile(explicit)) return explicit;
    throw new Error(`TEMPORAL_CLI_PATH=${explicit} is not an executable file`);
  }
  attempts.push('TEMPORAL_CLI_PATH: not set');

  const onPath = await findOnPath('temporal', env);
  if (onPath) return onPath;
  attempts.push('`temporal` on PATH: not found');

  const cached = await findCached(cache);
  if (cached) return cached;
  attempts.push(`cached build ${cachedCliPath(cache)}: not there`);

  if (options.allowBuild !== false) {
    const go = await findGo(env);
    if (!go) {
      attempts.push('go install: Go is not installed (no `go` on PATH, GOROOT or /usr/local/go)');
    } else {
      try {
        return await withBuildLock(
          { cache, lockName: `temporal-${TEMPORAL_CLI_VERSION}.lock`, buildPrefix: BUILD_PREFIX, label: LABEL, log },
          async () => (await findCached(cache)) ?? buildWithGo(go, cache, env, log),
        );
      } catch (error) {
        attempts.push(`go install ${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}: ${(error as Error).message}`);
      }
    }
  } else {
    attempts.push('go install: not allowed (allowBuild: false)');
  }

  if (options.allowDownload !== false) {
    try {
      return await downloadWithSdk(cache, log);
    } catch (error) {
      attempts.push(`SDK download: ${(error as Error).message}`);
    }
  } else {
    attempts.push('SDK download: not allowed (allowDownload: false)');
  }

  throw new TemporalCliNotFoundError(attempts);
}

async function findCached(cache: string): Promise<string | undefined> {
  const built = cachedCliPath(cache);
  if (await isExecutableFile(built)) return built;
  return findSdkDownload(sdkDownloadDir(cache));
}

// Distinct from the server's `.build-server-`: each build clears only its own abandoned scratch dirs, under its own lock.
const BUILD_PREFIX = '.build-cli-';
const LABEL = 'the Temporal CLI';

async function buildWithGo(go: string, cache: string, env: NodeJS.ProcessEnv, log: Log): Promise<string> {
  const target = cachedCliPath(cache);
  await goInstall({
    go,
    packages: [`${TEMPORAL_CLI_MODULE}@${TEMPORAL_CLI_VERSION}`],
    env,
    cache,
    buildPrefix: BUILD_PREFIX,
    label: LABEL,
    title: `${LABEL} ${TEMPORAL_CLI_VERSION}`,
    eta: '~4 min',
    targetDir: dirname(target),
    binaries: ['temporal'],
    built: target,
    log,
  });
  return target;
}

// ---------------------------------------------------------------------------------------------------

const SDK_DOWNLOAD_TIMEOUT_MS = 180_000;

function sdkDownloadDir(cache: string): string {
  return join(cache, 'sdk-download');
}

async function findSdkDownload(dir: string): Promise<string | undefined> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return undefined;
  }
  for (const entry of entries.sort().reverse()) {
    const candidate = join(dir, entry);
    if (entry.includes('temporal') && (await isExecutableFile(candidate))) return candidate;
  }
  return undefined;
}

/**
 * The SDK only exposes its download through starting an ephemeral server, so start one into the cache
 * directory, stop it, and keep the binary it fetched.
 */
async function downloadWithSdk(cache: string, log: (line: string) => void): Promise<string> {
  let testing: typeof import('@temporalio/testing');
  try {
    testing = await import('@temporalio/testing');
  } catch {
    throw new Error('@temporalio/testing is not installed');
  }
  const downloadDir = sdkDownloadDir(cache);
  await mkdir(downloadDir, { recursive: true });
  log('downloading the Temporal CLI through the Temporal SDK…');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${SDK_DOWNLOAD_TIMEOUT_MS / 1000}s`)), SDK_DOWNLOAD_TIMEOUT_MS);
  });
  try {
    const environment = await Promise.race([
      testing.TestWorkflowEnvironment.createLocal({
        server: { executable: { type: 'cached-download', downloadDir, ttl: '3650 days' } },
      }),
      timeout,
    ]);
    await environment.teardown();
  } finally {
    clearTimeout(timer);
  }
  const found = await findSdkDownload(downloadDir);
  if (!found) throw new Error(`the SDK download left no binary in ${downloadDir}`);
  return found;
}

// ---------------------------------------------------------------------------------------------------

/** `node scripts/provision-temporal.js [--no-build] [--no-download]`: pre-build for CI, print the path. */
export async function main(argv: string[] = process.argv.slice(2)): Promise<number> {
  try {
    const path = await findTemporalCli({
      allowBuild: !argv.includes('--no-build'),
      allowDownload: !argv.includes('--no-download'),
    });
    process.stdout.write(path + '\n');
    return 0;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n`);
    return 1;
  }
}
