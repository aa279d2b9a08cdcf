import type { RelationOverride } from '../config/types';
import { defaultForeignKey, defaultInverseKey } from './naming';
import { at, Problems } from './problems';
import { hasOwn, readObject, readOptionalString, readString } from './shape';
import type { Artifact, EntityDef, RelationDef, ThroughDef } from './types';

/**
 * Applies `[relations."Entity.rel"]` from the runtime config, which wins over the artifact: that is
 * how an app says how its many relations are stored without editing compiled output. Returns a new
 * artifact whose job hops point at the overridden relations; the input is left as it was.
 */
export function applyRelationOverrides(artifact: Artifact, overrides: Record<string, RelationOverride>): Artifact {
  const problems = new Problems();
  const entities: Record<string, EntityDef> = structuredClone(artifact.entities);

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
    if (merged !== undefined) entity.relations[relationName] = merged;
  }
  problems.throwIfAny();

  const jobs = Object.fromEntries(
    Object.entries(artifact.jobs).map(([name, job]) => [
      name,
      {
        ...structuredClone(job),
        needs: job.needs.map((n) => ({ ...n, hops: n.hops.map((h) => ({ from: h.from, relation: entities[h.from].relations[h.relation.name] })) })),
      },
    ]),
  );
  return { entities, jobs, hooks: structuredClone(artifact.hooks), warnings: [...artifact.warnings] };
}

/** Config input is checked like artifact input: it may come from a hand-written TOML file. */
function overrideRelation(problems: Problems, path: string, entity: string, relation: RelationDef, raw: unknown): RelationDef | undefined {
  const override = readObject(problems, path, raw);
  if (override === undefined) return undefined;
  const foreignKey = readOptionalString(problems, at(path, 'foreign_key'), override.foreign_key);
  const inverseKey = readOptionalString(problems, at(path, 'inverse_key'), override.inverse_key);
  const through = readThrough(problems, at(path, 'through'), override.through);

  if (!relation.is_many) {
    if (inverseKey !== undefined) problems.add(at(path, 'inverse_key'), 'inverse_key applies only to many relations');
    if (through !== undefined) problems.add(at(path, 'through'), 'through applies only to many relations');
    return foreignKey === undefined ? relation : withStorageDefaults(entity, { ...relation, foreign_key: foreignKey });
  }
  if (foreignKey !== undefined) problems.add(at(path, 'foreign_key'), 'a many relation is stored by inverse_key or through, not foreign_key');
  if (inverseKey !== undefined && through !== undefined) problems.add(path, 'give inverse_key or through, not both');
  // the override describes the storage completely: naming one way drops the other
  if (through !== undefined) return withStorageDefaults(entity, { ...relation, inverse_key: undefined, through });
  if (inverseKey !== undefined) return withStorageDefaults(entity, { ...relation, inverse_key: inverseKey, through: undefined });
  return relation;
}

/**
 * Fills what the relation semantics leave implicit, so no later stage recomputes it. The compiler's
 * foreign_key on a many relation (`members_id`) says nothing true about storage and is dropped.
 */
export function withStorageDefaults(sourceEntity: string, relation: RelationDef): RelationDef {
  const { foreign_key, inverse_key, through, ...rest } = relation;
  if (!relation.is_many) return { ...rest, foreign_key: foreign_key ?? defaultForeignKey(relation.name) };
  if (through !== undefined) return { ...rest, through: { ...through } };
  return { ...rest, inverse_key: inverse_key ?? defaultInverseKey(sourceEntity) };
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
