import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cachedCliPath, findTemporalCli, TemporalCliNotFoundError } from '../../../src/dev/temporal-cli';

async function fakeExecutable(path: string, body = 'echo temporal version fake'): Promise<string> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, `#!/bin/sh\n${body}\n`);
  await chmod(path, 0o755);
  return path;
}

describe('findTemporalCli', () => {
  let root: string;
  let cache: string;
  let pathDir: string;
  const quiet = { log: () => undefined, allowDownload: false };

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'forge-provision-'));
    cache = join(root, 'cache');
    pathDir = join(root, 'bin');
    await mkdir(pathDir, { recursive: true });
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  test('prefers TEMPORAL_CLI_PATH, then PATH, then the cached build', async () => {
    const explicit = await fakeExecutable(join(root, 'explicit', 'temporal'));
    const onPath = await fakeExecutable(join(pathDir, 'temporal'));
    const cached = await fakeExecutable(cachedCliPath(cache));

    expect(await findTemporalCli({ ...quiet, cacheDir: cache, env: { TEMPORAL_CLI_PATH: explicit, PATH: pathDir } })).toBe(explicit);
    expect(await findTemporalCli({ ...quiet, cacheDir: cache, env: { PATH: pathDir } })).toBe(onPath);
    expect(await findTemporalCli({ ...quiet, cacheDir: cache, env: { PATH: join(root, 'empty') } })).toBe(cached);
    expect(cached).toBe(join(cache, 'temporal-v1.5.1', 'temporal'));
  });

  test('uses FORGE_JOBS_CACHE_DIR for the cache', async () => {
    const cached = await fakeExecutable(join(cache, 'temporal-v1.5.1', 'temporal'));
    expect(await findTemporalCli({ ...quiet, allowBuild: false, env: { PATH: '', FORGE_JOBS_CACHE_DIR: cache } })).toBe(cached);
  });

  test('a TEMPORAL_CLI_PATH that is not executable is an error, not a fallback', async () => {
    await fakeExecutable(join(pathDir, 'temporal'));
    await expect(
      findTemporalCli({ ...quiet, cacheDir: cache, env: { TEMPORAL_CLI_PATH: join(root, 'missing'), PATH: pathDir } }),
    ).rejects.toThrow(/TEMPORAL_CLI_PATH=.*missing is not an executable file/);
  });

  test('says what to install when nothing is available', async () => {
    const failure = findTemporalCli({ ...quiet, allowBuild: false, cacheDir: cache, env: { PATH: pathDir } });
    await expect(failure).rejects.toBeInstanceOf(TemporalCliNotFoundError);
    await expect(failure).rejects.toThrow(/install Go/);
    await expect(failure).rejects.toThrow(/TEMPORAL_CLI_PATH/);
  });

  test('builds with go into the cache once, even when two callers ask at the same time', async () => {
    const counter = join(root, 'go-runs');
    await fakeExecutable(
      join(pathDir, 'go'),
      [
        `echo run >> ${counter}`,
        'echo "go: downloading github.com/temporalio/cli v1.5.1" >&2',
        'sleep 0.3',
        'printf "#!/bin/sh\\necho built\\n" > "$GOBIN/temporal"',
      ].join('\n'),
    );
    const lines: string[] = [];
    const log = (line: string) => lines.push(line);
    const env = { PATH: pathDir };
    const [first, second] = await Promise.all([
      findTemporalCli({ log, allowDownload: false, cacheDir: cache, env }),
      findTemporalCli({ log, allowDownload: false, cacheDir: cache, env }),
    ]);
    expect(first).toBe(cachedCliPath(cache));
    expect(second).toBe(first);
    expect((await readFile(counter, 'utf8')).trim().split('\n')).toHaveLength(1);
    expect(lines).toContain('[go] go: downloading github.com/temporalio/cli v1.5.1');
    expect(lines.some((line) => line.startsWith('waiting for another process'))).toBe(true);
    // No scratch directory or lock is left behind.
    expect((await readdir(cache)).sort()).toEqual(['temporal-v1.5.1']);
  });

  test('a failed build leaves nothing that looks usable and reports go output', async () => {
    await fakeExecutable(join(pathDir, 'go'), 'echo "go: module lookup disabled" >&2\nprintf "half" > "$GOBIN/temporal"\nexit 1');
    const failure = findTemporalCli({ log: () => undefined, allowDownload: false, cacheDir: cache, env: { PATH: pathDir } });
    await expect(failure).rejects.toThrow(/module lookup disabled/);
    expect(await readdir(cache)).toEqual([]);
  });
});
