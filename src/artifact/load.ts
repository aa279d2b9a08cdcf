import { readFileSync } from 'node:fs';
import { CAPABILITIES } from '../names';
import { loadEntities } from './entities';
import { loadHooks } from './hooks';
import { checkInserts } from './inserts';
import { loadJobs } from './jobs';
import { parseMigration, type DatabaseSchema } from './migration';
import { decideStorage, storageNotes } from './storage';
import { ArtifactError, formatProblem, Problems } from './problems';
import { readObject } from './shape';
import type { Artifact } from './types';

export interface LoadArtifactOptions {
  /** capabilities jobs may declare; the worker passes more when a provider adds some */
  capabilities?: readonly string[];
}

/**
 * Loads and validates a compiled artifact: a file path, or the parsed JSON (never mutated). Keys
 * forge-jobs does not read are ignored. Relation storage is decided from the artifact, its migration and
 * the convention (resolveArtifact decides again with the config's [relations], and the catalog when there
 * is no migration); entity.create jobs are checked against the migration's tables. Throws ArtifactError
 * listing every problem at once.
 */
export function loadArtifact(pathOrObject: string | object, options: LoadArtifactOptions = {}): Artifact {
  const problems = new Problems();
  const raw = typeof pathOrObject === 'string' ? readJsonFile(problems, pathOrObject) : pathOrObject;
  problems.throwIfAny();

  const root = readObject(problems, '$', raw);
  if (root === undefined) throw new ArtifactError(problems.errors);
  const schema = loadMigration(problems, root.migration);
  const entities = loadEntities(problems, root.entities);
  for (const entity of Object.values(entities)) {
    for (const [name, relation] of Object.entries(entity.relations)) entity.relations[name] = decideStorage(entity, relation, schema);
  }
  const jobs = loadJobs(problems, root.jobs, entities, options.capabilities ?? CAPABILITIES);
  const hooks = loadHooks(problems, root.hooks, entities, jobs);
  problems.throwIfAny();
  const refused = schema ? checkInserts(problems, schema, entities, jobs, hooks) : {};
  // a relation without storage refuses the artifact only where the config cannot help any more (resolveArtifact)
  const notes = storageNotes(entities, jobs);
  const warnings = [...problems.warnings, ...notes.warnings, ...notes.missing].map(formatProblem);
  return {
    entities,
    jobs,
    hooks,
    warnings,
    ...(schema && { schema }),
    ...(Object.keys(refused).length > 0 && { refused }),
  };
}

/**
 * The tables `migration.up` creates, when the artifact carries a migration. What the reader cannot
 * follow is a warning: the tables it did read still decide storage, the others fall to the catalog
 * or the convention.
 */
function loadMigration(problems: Problems, raw: unknown): DatabaseSchema | undefined {
  if (raw === undefined || raw === null) return undefined;
  const migration = readObject(problems, 'migration', raw);
  const up = migration?.up;
  if (up === undefined || up === null) return undefined;
  const lines = typeof up === 'string' ? [up] : Array.isArray(up) && up.every((l) => typeof l === 'string') ? (up as string[]) : undefined;
  if (lines === undefined) {
    problems.warn('migration.up', 'expected a string or an array of strings; the migration is not read');
    return undefined;
  }
  if (lines.every((l) => l.trim() === '')) return undefined;
  const { schema, skipped } = parseMigration(lines);
  for (const reason of skipped) problems.warn('migration.up', `not read: ${reason}`);
  return schema;
}

function readJsonFile(problems: Problems, file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    problems.add('$', `cannot read ${file}: ${(err as Error).message}`);
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    problems.add('$', `invalid JSON: ${(err as Error).message}${lineAndColumn(text, (err as Error).message)}`);
    return undefined;
  }
}

/** V8 reports only an offset; a person looks for a line and column. */
function lineAndColumn(text: string, message: string): string {
  const match = /at position (\d+)/.exec(message);
  if (match === null || /line \d+/.test(message)) return '';
  const before = text.slice(0, Number(match[1])).split('\n');
  return ` (line ${before.length}, column ${before[before.length - 1].length + 1})`;
}
