import { at, type Problems } from './problems';
import { hasOwn, readArray, readObject, readString } from './shape';
import type { EntityDef, HookDef, JobDef, Operation } from './types';

const OPERATIONS: readonly Operation[] = ['create', 'update', 'delete'];
const TIMINGS: readonly HookDef['timing'][] = ['before', 'after'];

/** Before hooks are kept and validated like the others; the pipeline itself only runs after hooks. */
export function loadHooks(problems: Problems, raw: unknown, entities: Record<string, EntityDef>, jobs: Record<string, JobDef>): HookDef[] {
  if (raw === undefined || raw === null) return [];
  const items = readArray(problems, 'hooks', raw);
  if (items === undefined) return [];
  const hooks: HookDef[] = [];
  items.forEach((item, i) => {
    const path = at('hooks', i);
    const obj = readObject(problems, path, item);
    if (obj === undefined) return;
    const entity = readString(problems, at(path, 'entity'), obj.entity);
    const known = entity !== undefined && hasOwn(entities, entity);
    if (entity !== undefined && !known) problems.add(at(path, 'entity'), `unknown entity "${entity}"`);
    const operation = readOneOf(problems, at(path, 'operation'), obj.operation, OPERATIONS);
    const timing = readOneOf(problems, at(path, 'timing'), obj.timing, TIMINGS);
    const names: string[] = [];
    (readArray(problems, at(path, 'jobs'), obj.jobs) ?? []).forEach((value, j) => {
      const name = readString(problems, at(at(path, 'jobs'), j), value);
      if (name === undefined) return;
      names.push(name);
      checkHookJob(problems, at(at(path, 'jobs'), j), name, known ? entity : undefined, entities, jobs);
    });
    if (entity !== undefined && operation !== undefined && timing !== undefined) hooks.push({ entity, timing, operation, jobs: names });
  });
  return hooks;
}

function readOneOf<T extends string>(problems: Problems, path: string, raw: unknown, allowed: readonly T[]): T | undefined {
  const value = readString(problems, path, raw);
  if (value === undefined) return undefined;
  if ((allowed as readonly string[]).includes(value)) return value as T;
  problems.add(path, `${JSON.stringify(value)} is not one of ${allowed.join(', ')}`);
  return undefined;
}

/**
 * A hook hands its record to the job, so the job must take records of the hook's entity. An unknown
 * entity on either side is reported where it is written, not again here.
 */
function checkHookJob(
  problems: Problems,
  path: string,
  name: string,
  entity: string | undefined,
  entities: Record<string, EntityDef>,
  jobs: Record<string, JobDef>,
): void {
  if (!hasOwn(jobs, name)) {
    problems.add(path, `unknown job "${name}"`);
    return;
  }
  const input = jobs[name].input_entity;
  if (entity !== undefined && hasOwn(entities, input) && input !== entity) {
    problems.add(path, `job ${name} takes ${input} records, but the hook is on ${entity}`);
  }
}
