import { parseDuration } from './duration';
import { parseRate, type Rate } from './rate';
import { ConfigError, type ConfigProblem } from './errors';
import { childPath, indexPath, isTable, typeName, type Table } from './values';

const ENV_REF = /^env:([A-Za-z_][A-Za-z0-9_]*)$/;

/** A value as read: `env:` substituted, remembering the variable so messages name it, not its value. */
interface Read {
  value: unknown;
  /** the environment variable the value came from */
  envName?: string;
}

export interface FieldOptions {
  /** never echo the value in a message (passwords, API keys, URLs with credentials) */
  secret?: boolean;
}

/**
 * Typed, lazy access to the merged document. `env:` references resolve only for the keys a section
 * actually reads, so unrelated Forge sections ([auth], [providers]…) may name variables the worker
 * does not have. Every problem is collected; nothing throws until the caller has read everything.
 */
export class Reader {
  readonly problems: ConfigProblem[] = [];

  constructor(private readonly env: NodeJS.ProcessEnv) {}

  problem(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** A sub-table; undefined when absent. A non-table value is a problem (a known section of the wrong type). */
  table(parent: Table, key: string, path: string): Table | undefined {
    const value = parent[key];
    if (value === undefined) return undefined;
    if (isTable(value)) return value;
    this.problem(path, `expected a table, got ${typeName(value)}`);
    return undefined;
  }

  string(table: Table, key: string, path: string, opts: FieldOptions = {}): string | undefined {
    const read = this.read(table, key, path);
    if (!read) return undefined;
    if (typeof read.value === 'string' && read.value !== '') return read.value;
    if (read.value === '') this.problem(path, `must not be empty${from(read)}`);
    else this.mismatch(path, 'a string', read, opts);
    return undefined;
  }

  integer(table: Table, key: string, path: string, bounds: { min: number; max?: number }): number | undefined {
    const read = this.read(table, key, path);
    if (!read) return undefined;
    // environment variables are strings: "2525" from SMTP_PORT is a port
    const value = read.envName && typeof read.value === 'string' && /^-?\d+$/.test(read.value.trim()) ? Number(read.value) : read.value;
    if (typeof value !== 'number' || !Number.isInteger(value)) {
      this.mismatch(path, 'an integer', read);
      return undefined;
    }
    const { min, max } = bounds;
    if (value < min || (max !== undefined && value > max)) {
      const range = max === undefined ? `>= ${min}` : `between ${min} and ${max}`;
      this.problem(path, `must be an integer ${range}, got ${read.envName ? `the value of ${read.envName}` : value}`);
      return undefined;
    }
    return value;
  }

  boolean(table: Table, key: string, path: string): boolean | undefined {
    const read = this.read(table, key, path);
    return read ? this.asBoolean(read, path) : undefined;
  }

  /** A send rate ("14/s", "600/min"); a problem with the path when it is not one. */
  rate(table: Table, key: string, path: string): Rate | undefined {
    const read = this.read(table, key, path);
    if (!read) return undefined;
    const rate = parseRate(read.value);
    if ('problem' in rate) {
      this.problem(path, read.envName ? `invalid rate in environment variable ${read.envName}: ${rate.problem}` : rate.problem);
      return undefined;
    }
    return rate;
  }

  /** Milliseconds, > 0: every duration in this config is a timeout, and 0 would mean "fail at once". */
  duration(table: Table, key: string, path: string): number | undefined {
    const read = this.read(table, key, path);
    if (!read) return undefined;
    const { value } = read;
    if (typeof value !== 'number' && typeof value !== 'string') {
      this.mismatch(path, 'a number of seconds or a duration string such as "30s"', read);
      return undefined;
    }
    let ms: number;
    try {
      ms = parseDuration(value, path);
    } catch (err) {
      if (!(err instanceof ConfigError)) throw err;
      const message = read.envName
        ? `invalid duration in environment variable ${read.envName} (use seconds, or a number with ms, s, m or h, e.g. "30s")`
        : err.problems[0].message;
      this.problem(path, message);
      return undefined;
    }
    if (ms <= 0) {
      this.problem(path, 'must be greater than 0');
      return undefined;
    }
    return ms;
  }

  /**
   * An array of strings, each passed through `item` (which normalizes it, or records a problem and
   * returns undefined) in order, so problems come out by index. One `env:` string holding a
   * comma-separated list also counts, since a variable cannot hold an array.
   */
  stringList(table: Table, key: string, path: string, item: (value: string, path: string) => string | undefined): string[] | undefined {
    const read = this.read(table, key, path);
    if (!read) return undefined;
    const out: string[] = [];
    const take = (value: string, itemPath: string) => {
      const taken = item(value, itemPath);
      if (taken !== undefined) out.push(taken);
    };
    if (read.envName && typeof read.value === 'string') {
      read.value
        .split(/[\s,]+/)
        .filter(Boolean)
        .forEach((value, i) => take(value, indexPath(path, i)));
      return out;
    }
    if (!Array.isArray(read.value)) {
      this.mismatch(path, 'an array of strings', read);
      return undefined;
    }
    read.value.forEach((value: unknown, i) => {
      const itemPath = indexPath(path, i);
      const itemRead = this.resolve(value, itemPath);
      if (!itemRead) return;
      if (typeof itemRead.value === 'string') take(itemRead.value, itemPath);
      else this.mismatch(itemPath, 'a string', itemRead);
    });
    return out;
  }

  /** The raw value with `env:` resolved (for booleans-or-tables and other unions); undefined when absent. */
  read(table: Table, key: string, path: string): Read | undefined {
    const value = table[key];
    return value === undefined ? undefined : this.resolve(value, path);
  }

  asBoolean(read: Read, path: string): boolean | undefined {
    if (typeof read.value === 'boolean') return read.value;
    if (read.envName && typeof read.value === 'string') {
      const text = read.value.trim().toLowerCase();
      if (text === 'true' || text === '1') return true;
      if (text === 'false' || text === '0' || text === '') return false;
    }
    this.mismatch(path, 'a boolean', read);
    return undefined;
  }

  /** Deep copy with every `env:` string resolved, for free-form tables such as job templates. */
  deep(value: unknown, path: string): unknown {
    if (Array.isArray(value)) return value.map((item, i) => this.deep(item, indexPath(path, i)));
    if (isTable(value)) {
      const out: Table = {};
      for (const [key, item] of Object.entries(value)) {
        Object.defineProperty(out, key, {
          value: this.deep(item, childPath(path, key)),
          enumerable: true,
          writable: true,
          configurable: true,
        });
      }
      return out;
    }
    return this.resolve(value, path)?.value;
  }

  private resolve(value: unknown, path: string): Read | undefined {
    if (typeof value !== 'string') return { value };
    const ref = ENV_REF.exec(value);
    if (!ref) return { value };
    const name = ref[1];
    const resolved = this.env[name];
    if (resolved === undefined) {
      this.problem(path, `environment variable ${name} is not set`);
      return undefined;
    }
    return { value: resolved, envName: name };
  }

  private mismatch(path: string, expected: string, read: Read, opts: FieldOptions = {}): void {
    this.problem(path, `expected ${expected}, got ${describe(read, opts)}`);
  }
}

function from(read: Read): string {
  return read.envName ? ` (environment variable ${read.envName})` : '';
}

/** "a string \"abc\"" for literals, but only the type (and variable) for secrets and env values. */
function describe(read: Read, opts: FieldOptions): string {
  const type = typeName(read.value);
  if (read.envName) return `${type} from environment variable ${read.envName}`;
  if (opts.secret) return type;
  const v = read.value;
  if (typeof v === 'string') return `${type} ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${type} ${String(v)}`;
  return type;
}
