import { readFileSync } from 'node:fs';
import { CAPABILITIES } from '../shared';
import { loadEntities } from './entities';
import { loadHooks } from './hooks';
import { loadJobs } from './jobs';
import { ArtifactError, formatProblem, Problems } from './problems';
import { readObject } from './shape';
import type { Artifact } from './types';

export interface LoadArtifactOptions {
  /** capabilities jobs may declare; the worker passes more when a provider adds some */
  capabilities?: readonly string[];
}

/**
 * Loads and validates a compiled artifact: a file path, or the parsed JSON (never mutated). Keys
 * forge-jobs does not read are ignored; storage defaults are filled in. Throws ArtifactError listing
 * every problem at once.
 */
export function loadArtifact(pathOrObject: string | object, options: LoadArtifactOptions = {}): Artifact {
  const problems = new Problems();
  const raw = typeof pathOrObject === 'string' ? readJsonFile(problems, pathOrObject) : pathOrObject;
  problems.throwIfAny();

  const root = readObject(problems, '$', raw);
  if (root === undefined) throw new ArtifactError(problems.errors);
  const entities = loadEntities(problems, root.entities);
  const jobs = loadJobs(problems, root.jobs, entities, options.capabilities ?? CAPABILITIES);
  const hooks = loadHooks(problems, root.hooks, entities, jobs);
  problems.throwIfAny();
  return { entities, jobs, hooks, warnings: problems.warnings.map(formatProblem) };
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
