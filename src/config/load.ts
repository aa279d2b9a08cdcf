import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { ConfigError } from './errors';
import { resolveRuntimeConfig, type RuntimeConfigOptions } from './resolve';
import type { RuntimeConfig } from './types';

/** Reads forge.runtime.toml; relative paths inside it resolve against its directory. */
export function loadRuntimeConfig(path: string, options: RuntimeConfigOptions = {}): RuntimeConfig {
  const file = resolve(path);
  const raw = parseToml(readConfigFile(path, file), path);
  return resolveRuntimeConfig(raw, { ...options, baseDir: dirname(file), file: path });
}

function readConfigFile(path: string, file: string): string {
  try {
    return readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const message =
      code === 'ENOENT'
        ? `file not found: ${file}`
        : code === 'EISDIR'
          ? `is a directory, not a file: ${file}`
          : `cannot read ${file}: ${code ?? String(err)}`;
    throw new ConfigError(path, [{ path: '', message }]);
  }
}

function parseToml(text: string, path: string): unknown {
  try {
    return parse(text);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    // first line only: smol-toml appends a code excerpt, which may show a secret on the bad line
    const reason = err.message.split('\n')[0].replace(/^Invalid TOML document:\s*/, '');
    throw new ConfigError(path, [{ path: '', message: `TOML syntax error at line ${err.line}, column ${err.column}: ${reason}` }]);
  }
}
