import { at, type Problems } from './problems';
import { describeType, hasOwn } from './shape';
import type { EntityDef, NeedsHop, NeedsPath } from './types';

/** One path as written in the artifact, with where it was written for problem reports. */
interface WrittenPath {
  text: string;
  path: string;
}

/**
 * The needs of a job: `needs_path` (one path or several, comma-separated) and the `needs` array
 * extension together. Nothing written means the trigger record itself.
 */
export function loadNeeds(
  problems: Problems,
  jobPath: string,
  job: Record<string, unknown>,
  inputEntity: EntityDef,
  entities: Record<string, EntityDef>,
): NeedsPath[] {
  const fromPath = readNeedsPath(problems, at(jobPath, 'needs_path'), job.needs_path);
  const fromArray = readNeedsArray(problems, at(jobPath, 'needs'), job.needs);
  // unreadable needs are not "no needs": resolving nothing keeps the filter from being checked against the wrong entity
  if (fromPath === undefined || fromArray === undefined) return [];
  const written = [...fromPath, ...fromArray];
  const unique = written.filter((w, i) => written.findIndex((o) => o.text === w.text) === i);
  if (unique.length === 0) return [{ text: '', hops: [], targetEntity: inputEntity.name }];

  const resolved: { needs: NeedsPath; path: string }[] = [];
  for (const w of unique) {
    const needs = resolvePath(problems, w, inputEntity, entities);
    if (needs !== undefined) resolved.push({ needs, path: w.path });
  }
  const first = resolved[0];
  const stray = resolved.find((r) => r.needs.targetEntity !== first.needs.targetEntity);
  if (stray !== undefined) {
    const reaches = resolved.map((r) => `"${r.needs.text}" reaches ${r.needs.targetEntity}`).join(', ');
    problems.add(stray.path, `all paths of a job must reach the same entity: ${reaches}`);
  }
  return resolved.map((r) => r.needs);
}

function readNeedsPath(problems: Problems, path: string, raw: unknown): WrittenPath[] | undefined {
  if (raw === undefined || raw === null) return [];
  if (typeof raw !== 'string') {
    problems.add(path, `expected a string, got ${describeType(raw)}`);
    return undefined;
  }
  if (raw.trim() === '') return [];
  const parts = raw.split(',').map((p) => p.trim());
  if (parts.some((p) => p === '')) {
    problems.add(path, `empty path in ${JSON.stringify(raw)}`);
    return undefined;
  }
  return parts.map((text) => ({ text, path }));
}

function readNeedsArray(problems: Problems, path: string, raw: unknown): WrittenPath[] | undefined {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) {
    problems.add(path, `expected an array, got ${describeType(raw)}`);
    return undefined;
  }
  const bad = raw.findIndex((item) => typeof item !== 'string');
  if (bad >= 0) {
    problems.add(at(path, bad), `expected a string, got ${describeType(raw[bad])}`);
    return undefined;
  }
  return raw.map((item: string, i) => ({ text: item.trim(), path: at(path, i) }));
}

/** Walks the relations of a path; the first bad segment is reported and ends the walk. */
function resolvePath(
  problems: Problems,
  written: WrittenPath,
  input: EntityDef,
  entities: Record<string, EntityDef>,
): NeedsPath | undefined {
  const { text, path } = written;
  if (text === '') return { text, hops: [], targetEntity: input.name };
  const segments = text.split('.').map((s) => s.trim());
  if (segments.some((s) => s === '')) {
    problems.add(path, `empty segment in path ${JSON.stringify(text)}`);
    return undefined;
  }
  if (segments[0] === input.name) segments.shift();
  else if (!hasOwn(input.relations, segments[0]) && hasOwn(entities, segments[0])) {
    problems.add(path, `path ${JSON.stringify(text)} starts at entity ${segments[0]}, but the job's input_entity is ${input.name}`);
    return undefined;
  }

  const hops: NeedsHop[] = [];
  let current = input;
  for (const segment of segments) {
    if (!hasOwn(current.relations, segment)) {
      problems.add(path, `entity ${current.name} has no relation ${JSON.stringify(segment)}`);
      return undefined;
    }
    const relation = current.relations[segment];
    hops.push({ from: current.name, relation });
    current = entities[relation.target];
  }
  return { text, hops, targetEntity: current.name };
}
