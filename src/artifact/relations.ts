import type { RelationOverride } from '../config/types';
import type { DatabaseSchema } from './migration';
import { ArtifactError, at, formatProblem, Problems } from './problems';
import { hasOwn, readObject, readOptionalString, readString } from './shape';
import { decideStorage, declaredStorage, storageNotes } from './storage';
import type { Artifact, EntityDef, RelationDef, ThroughDef } from './types';

/**
 * Decides the storage of every relation again with `[relations."Entity.rel"]` from the runtime config,
 * which wins over everything else (that is how an app says how a relation is stored without editing
 * compiled output), and `schema` (the artifact's migration, or the live catalog). Returns a new artifact
 * whose job hops point at the decided relations; the input is left as it was. A relation some job needs
 * whose storage was not found refuses the artifact, naming the relation and what was looked for.
 */
export function applyRelationOverrides(
  artifact: Artifact,
  overrides: Record<string, RelationOverride>,
  schema: DatabaseSchema | undefined = artifact.schema,
): Artifact {
  const problems = new Problems();
  const entities: Record<string, EntityDef> = structuredClone(artifact.entities);
  const overridden = new Set<string>();

  for (const [key, override] of Object.entries(overrides)) {
    const path = at('relations', key);
    const dot = key.indexOf('.');
    const entityName = key.slice(0, dot);
    const relationName = key.slice(dot + 1);
    if (dot <= 0 || relationName === '' || relationName.includes('.')) {
      problems.add(path, 'expected a key of the form "Entity.relation"');
      continue;
    }
    if (!hasOwn(entities, entityName)) {
      problems.add(path, `unknown entity "${entityName}"`);
      continue;
    }
    const entity = entities[entityName];
    if (!hasOwn(entity.relations, relationName)) {
      problems.add(path, `entity ${entityName} has no relation "${relationName}"`);
      continue;
    }
    const merged = overrideRelation(problems, path, entityName, entity.relations[relationName], override);
    if (merged !== undefined) {
      entity.relations[relationName] = merged;
      overridden.add(key);
    }
  }
  for (const entity of Object.values(entities)) {
    for (const [name, relation] of Object.entries(entity.relations)) {
      if (!overridden.has(`${entity.name}.${name}`)) entity.relations[name] = decideStorage(entity, relation, schema);
    }
  }
  problems.throwIfAny();

  const jobs = Object.fromEntries(
    Object.entries(artifact.jobs).map(([name, job]) => [
      name,
      {
        ...structuredClone(job),
        needs: job.needs.map((n) => ({
          ...n,
          hops: n.hops.map((h) => ({ from: h.from, relation: entities[h.from].relations[h.relation.name] })),
        })),
      },
    ]),
  );
  const before = storageNotes(artifact.entities, artifact.jobs);
  const after = storageNotes(entities, jobs);
  if (after.missing.length > 0) throw new ArtifactError(after.missing);
  const stale = new Set([...before.warnings, ...before.missing].map(formatProblem));
  const warnings = [...artifact.warnings.filter((w) => !stale.has(w)), ...after.warnings.map(formatProblem)];
  return {
    entities,
    jobs,
    hooks: structuredClone(artifact.hooks),
    warnings,
    ...(artifact.schema && { schema: artifact.schema }),
    ...(artifact.refused && { refused: { ...artifact.refused } }),
  };
}

/** Config input is checked like artifact input: it may come from a hand-written TOML file. */
function overrideRelation(problems: Problems, path: string, entity: string, relation: RelationDef, raw: unknown): RelationDef | undefined {
  const override = readObject(problems, path, raw);
  if (override === undefined) return undefined;
  const foreignKey = readOptionalString(problems, at(path, 'foreign_key'), override.foreign_key);
  const inverseKey = readOptionalString(problems, at(path, 'inverse_key'), override.inverse_key);
  const through = readThrough(problems, at(path, 'through'), override.through);
  const base = {
    name: relation.name,
    target: relation.target,
    target_table: relation.target_table,
    is_many: relation.is_many,
    declared: declaredStorage(relation),
  };

  if (!relation.is_many) {
    if (inverseKey !== undefined) problems.add(at(path, 'inverse_key'), 'inverse_key applies only to many relations');
    if (through !== undefined) problems.add(at(path, 'through'), 'through applies only to many relations');
    if (foreignKey === undefined) return undefined;
    return { ...base, foreign_key: foreignKey, storage: 'config' };
  }
  const given = [foreignKey && 'foreign_key', inverseKey && 'inverse_key', through && 'through'].filter(Boolean);
  if (given.length > 1) {
    problems.add(path, `give one of foreign_key (on the source table), inverse_key or through, not ${given.join(' and ')}`);
    return undefined;
  }
  // the override describes the storage completely: naming one way drops the others
  if (through !== undefined) return { ...base, through, storage: 'config' };
  if (inverseKey !== undefined) return { ...base, inverse_key: inverseKey, storage: 'config' };
  if (foreignKey !== undefined) return { ...base, foreign_key: foreignKey, storage: 'config' };
  return undefined;
}

export function readThrough(problems: Problems, path: string, raw: unknown): ThroughDef | undefined {
  if (raw === undefined || raw === null) return undefined;
  const obj = readObject(problems, path, raw);
  if (obj === undefined) return undefined;
  const table = readString(problems, at(path, 'table'), obj.table);
  const sourceKey = readString(problems, at(path, 'source_key'), obj.source_key);
  const targetKey = readString(problems, at(path, 'target_key'), obj.target_key);
  if (table === undefined || sourceKey === undefined || targetKey === undefined) return undefined;
  return { table, source_key: sourceKey, target_key: targetKey };
}
