import type { ConfigProblem } from './errors';
import { childPath, isTable, type Table } from './values';

/**
 * The base document with `[environments.<name>]` merged over it. Done before `env:` resolution so
 * a variable only production uses need not exist in development. `environments` itself is dropped.
 */
export function applyEnvironment(raw: Table, environment: string, problems: ConfigProblem[]): Table {
  const { environments, ...base } = raw;
  if (environments === undefined) return base;
  if (!isTable(environments)) {
    problems.push({ path: 'environments', message: 'expected a table of [environments.<name>] tables' });
    return base;
  }
  const override = environments[environment];
  if (override === undefined) return base;
  if (!isTable(override)) {
    problems.push({ path: childPath('environments', environment), message: 'expected a table' });
    return base;
  }
  return deepMerge(base, override);
}

/** Tables merge key by key; anything else (scalars, arrays, a table replacing a scalar) replaces. */
export function deepMerge(base: Table, over: Table): Table {
  // null prototype: a "__proto__" key in the file stays data instead of reaching Object.prototype
  const out: Table = Object.assign(Object.create(null) as Table, base);
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = isTable(prev) && isTable(value) ? deepMerge(prev, value) : value;
  }
  return out;
}
