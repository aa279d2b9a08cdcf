import { FilterSyntaxError, filterComparisons, matchesNothing, parseFilter } from './filter';
import { MappingSyntaxError, parseFieldMapping } from './mapping';
import { hasField } from './naming';
import { loadNeeds } from './needs';
import { at, type Problems } from './problems';
import { describeType, entriesOf, hasOwn, readArray, readName, readObject, readOptionalString, readString } from './shape';
import type { EntityDef, FilterExpr, JobDef, NeedsPath } from './types';

const ENTITY_CREATE = 'entity.create';

export function loadJobs(
  problems: Problems,
  raw: unknown,
  entities: Record<string, EntityDef>,
  capabilities: readonly string[],
): Record<string, JobDef> {
  const jobs: Record<string, JobDef> = {};
  if (raw === undefined || raw === null) return jobs;
  const source = readObject(problems, 'jobs', raw);
  if (source === undefined) return jobs;
  for (const [key, value] of entriesOf(problems, 'jobs', source)) {
    const path = at('jobs', key);
    const obj = readObject(problems, path, value);
    if (obj !== undefined) jobs[key] = loadJob(problems, path, key, obj, entities, capabilities);
  }
  return jobs;
}

function loadJob(
  problems: Problems,
  path: string,
  key: string,
  obj: Record<string, unknown>,
  entities: Record<string, EntityDef>,
  known: readonly string[],
): JobDef {
  const inputName = readString(problems, at(path, 'input_entity'), obj.input_entity);
  const input = knownEntity(problems, at(path, 'input_entity'), inputName, entities);
  const needs = input === undefined ? [] : loadNeeds(problems, path, obj, input, entities);
  const job: JobDef = {
    name: readName(problems, path, key, obj.name),
    input_entity: inputName ?? '',
    needs,
    capabilities: loadCapabilities(problems, at(path, 'capabilities'), obj.capabilities, known),
  };

  const filterText = readFilterText(problems, at(path, 'needs_filter'), obj.needs_filter);
  if (filterText !== undefined) {
    job.needs_filter = filterText;
    const filter = parseFilterAt(problems, at(path, 'needs_filter'), filterText);
    if (filter !== undefined) {
      job.filter = filter;
      if (matchesNothing(filter))
        problems.warn(at(path, 'needs_filter'), `job ${key}: the filter can match nothing (an empty "in" list), so the job never runs`);
      const target = commonTarget(needs, entities);
      if (target !== undefined) checkFilter(problems, at(path, 'needs_filter'), filter, target);
    }
  }

  const targetName = readOptionalString(problems, at(path, 'target_entity'), obj.target_entity);
  const target = knownEntity(problems, at(path, 'target_entity'), targetName, entities);
  if (targetName !== undefined) job.target_entity = targetName;
  const creates = job.capabilities.includes(ENTITY_CREATE);
  if (creates && (obj.target_entity === undefined || obj.target_entity === null))
    problems.add(at(path, 'target_entity'), `required for an ${ENTITY_CREATE} job`);

  if (obj.field_mappings !== undefined && obj.field_mappings !== null) {
    job.field_mappings = loadFieldMappings(problems, at(path, 'field_mappings'), obj.field_mappings, input, target);
  } else if (creates) {
    job.field_mappings = {};
  }
  return job;
}

function knownEntity(
  problems: Problems,
  path: string,
  name: string | undefined,
  entities: Record<string, EntityDef>,
): EntityDef | undefined {
  if (name === undefined) return undefined;
  if (hasOwn(entities, name)) return entities[name];
  problems.add(path, `unknown entity "${name}"`);
  return undefined;
}

function loadCapabilities(problems: Problems, path: string, raw: unknown, known: readonly string[]): string[] {
  const items = readArray(problems, path, raw);
  if (items === undefined) return [];
  if (items.length === 0) problems.add(path, 'must list at least one capability');
  const capabilities: string[] = [];
  items.forEach((item, i) => {
    const capability = readString(problems, at(path, i), item);
    if (capability === undefined) return;
    if (!known.includes(capability)) problems.add(at(path, i), `unknown capability "${capability}" (known: ${known.join(', ')})`);
    capabilities.push(capability);
  });
  return capabilities;
}

/** The compiler writes an empty string for a job without a filter. */
function readFilterText(problems: Problems, path: string, raw: unknown): string | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'string') {
    problems.add(path, `expected a string, got ${describeType(raw)}`);
    return undefined;
  }
  return raw.trim() === '' ? undefined : raw;
}

function parseFilterAt(problems: Problems, path: string, text: string): FilterExpr | undefined {
  try {
    return parseFilter(text);
  } catch (err) {
    if (!(err instanceof FilterSyntaxError)) throw err;
    problems.add(path, `syntax error: ${err.message}`);
    return undefined;
  }
}

/** The entity a filter applies to, when every path resolved to the same one. */
function commonTarget(needs: NeedsPath[], entities: Record<string, EntityDef>): EntityDef | undefined {
  if (needs.length === 0) return undefined;
  const name = needs[0].targetEntity;
  return needs.every((n) => n.targetEntity === name) ? entities[name] : undefined;
}

function checkFilter(problems: Problems, path: string, filter: FilterExpr, entity: EntityDef): void {
  for (const { field, values } of filterComparisons(filter)) {
    if (!hasField(entity, field)) {
      problems.add(path, `entity ${entity.name} has no field "${field}"`);
      continue;
    }
    const allowed = hasOwn(entity.fields, field) ? entity.fields[field].enum_values : undefined;
    if (allowed === undefined) continue;
    for (const value of values) {
      if (value !== null && !(typeof value === 'string' && allowed.includes(value))) {
        problems.add(path, `${JSON.stringify(value)} is not one of ${entity.name}.${field}'s values (${allowed.join(', ')})`);
      }
    }
  }
}

/**
 * Values must parse and name fields of the input entity. A key the target entity does not list is
 * only a warning: the compiler is known to drop fields that the table has anyway.
 */
function loadFieldMappings(
  problems: Problems,
  path: string,
  raw: unknown,
  input: EntityDef | undefined,
  target: EntityDef | undefined,
): Record<string, string> {
  const mappings: Record<string, string> = {};
  const source = readObject(problems, path, raw);
  if (source === undefined) return mappings;
  for (const [key, value] of entriesOf(problems, path, source)) {
    const keyPath = at(path, key);
    if (target !== undefined && !hasField(target, key)) problems.warn(keyPath, `entity ${target.name} has no field "${key}"`);
    if (typeof value !== 'string') {
      problems.add(keyPath, `expected a string, got ${describeType(value)}`);
      continue;
    }
    mappings[key] = value;
    try {
      const expr = parseFieldMapping(value);
      if (expr.kind === 'field' && input !== undefined && !hasField(input, expr.field) && !isForeignKeyColumn(input, expr.field)) {
        problems.add(keyPath, `entity ${input.name} has no field "${expr.field}" (in ${value.trim()})`);
      }
    } catch (err) {
      if (!(err instanceof MappingSyntaxError)) throw err;
      problems.add(keyPath, err.message);
    }
  }
  return mappings;
}

/** `data.org_id`: the trigger record holds the columns of the relations stored on its table too. */
function isForeignKeyColumn(entity: EntityDef, column: string): boolean {
  return Object.values(entity.relations).some(
    (r) => r.foreign_key === column && (!r.is_many || (r.inverse_key === undefined && r.through === undefined)),
  );
}
