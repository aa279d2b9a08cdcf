/** Runtime config files for the config tests, in temp dirs removed after each file's tests. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError } from '../../src/config';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Writes `text` as forge.runtime.toml in a fresh temp dir (removed after the file's tests) and returns its path. */
export function writeConfig(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'forge-config-'));
  dirs.push(dir);
  const file = join(dir, 'forge.runtime.toml');
  writeFileSync(file, text);
  return file;
}

/** Runs `fn`, which must throw a ConfigError, and returns it. */
export function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError, got none');
}
