import type { Problems } from './problems';

/**
 * Readers for untrusted JSON. Each one reports a wrong type as a problem at its path and returns
 * undefined, so validation continues past it instead of crashing on the next property access.
 */

export type JsonObject = Record<string, unknown>;

export function describeType(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mismatch(problems: Problems, path: string, expected: string, value: unknown): undefined {
  problems.add(path, value === undefined ? 'required' : `expected ${expected}, got ${describeType(value)}`);
  return undefined;
}

export function readObject(problems: Problems, path: string, value: unknown): JsonObject | undefined {
  return isObject(value) ? value : mismatch(problems, path, 'an object', value);
}

export function readArray(problems: Problems, path: string, value: unknown): unknown[] | undefined {
  return Array.isArray(value) ? value : mismatch(problems, path, 'an array', value);
}

export function readString(problems: Problems, path: string, value: unknown): string | undefined {
  if (typeof value !== 'string') return mismatch(problems, path, 'a string', value);
  if (value.trim() === '') {
    problems.add(path, 'must not be empty');
    return undefined;
  }
  return value;
}

/** Like readString, but absence is fine. */
export function readOptionalString(problems: Problems, path: string, value: unknown): string | undefined {
  return value === undefined || value === null ? undefined : readString(problems, path, value);
}

export function readOptionalBoolean(problems: Problems, path: string, value: unknown): boolean | undefined {
  if (value === undefined || value === null) return undefined;
  return typeof value === 'boolean' ? value : mismatch(problems, path, 'a boolean', value);
}

/** Every element must be a non-empty string; bad elements are reported and left out. */
export function readStringArray(problems: Problems, path: string, value: unknown): string[] | undefined {
  const items = readArray(problems, path, value);
  if (items === undefined) return undefined;
  const out: string[] = [];
  items.forEach((item, i) => {
    const s = readString(problems, `${path}[${i}]`, item);
    if (s !== undefined) out.push(s);
  });
  return out;
}

/** The `name` inside an entry must agree with the key it is stored under, since other parts refer by key. */
export function readName(problems: Problems, path: string, key: string, value: unknown): string {
  if (value === undefined || value === null) return key;
  const name = readString(problems, `${path}.name`, value);
  if (name !== undefined && name !== key) problems.add(`${path}.name`, `"${name}" does not match its key "${key}"`);
  return key;
}

/** Own keys only: a name such as "constructor" must not find Object.prototype. */
export function hasOwn(record: object, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(record, key);
}

/** Entries of a JSON object. "__proto__" is refused: storing it under that key would replace a prototype. */
export function entriesOf(problems: Problems, path: string, obj: JsonObject): [string, unknown][] {
  return Object.entries(obj).filter(([key]) => {
    if (key !== '__proto__') return true;
    problems.add(`${path}.${key}`, 'reserved name');
    return false;
  });
}
