import { at, type Problems } from './problems';
import { readThrough } from './relations';
import {
  entriesOf,
  hasOwn,
  readName,
  readObject,
  readOptionalBoolean,
  readOptionalString,
  readString,
  readStringArray,
  type JsonObject,
} from './shape';
import type { DeclaredStorage, EntityDef, FieldDef, RelationDef } from './types';

/**
 * Entities in two passes: first names, tables and fields of all of them, then relations, whose
 * targets and default target tables need every entity to be known.
 */
export function loadEntities(problems: Problems, raw: unknown): Record<string, EntityDef> {
  const entities: Record<string, EntityDef> = {};
  const source = readObject(problems, 'entities', raw);
  if (source === undefined) return entities;

  const rawRelations = new Map<string, unknown>();
  for (const [key, value] of entriesOf(problems, 'entities', source)) {
    const path = at('entities', key);
    const obj = readObject(problems, path, value);
    if (obj === undefined) continue;
    entities[key] = {
      name: readName(problems, path, key, obj.name),
      table: readString(problems, at(path, 'table'), obj.table) ?? '',
      fields: loadFields(problems, at(path, 'fields'), obj.fields),
      relations: {},
    };
    rawRelations.set(key, obj.relations);
  }

  for (const [key, raw] of rawRelations) {
    entities[key].relations = loadRelations(problems, at(at('entities', key), 'relations'), raw, entities);
  }
  return entities;
}

function loadFields(problems: Problems, path: string, raw: unknown): Record<string, FieldDef> {
  const fields: Record<string, FieldDef> = {};
  if (raw === undefined || raw === null) return fields;
  const source = readObject(problems, path, raw);
  if (source === undefined) return fields;
  for (const [key, value] of entriesOf(problems, path, source)) {
    const fieldPath = at(path, key);
    const obj = readObject(problems, fieldPath, value);
    if (obj === undefined) continue;
    const field: FieldDef = {
      name: readName(problems, fieldPath, key, obj.name),
      type: readString(problems, at(fieldPath, 'type'), obj.type) ?? '',
    };
    const sqlType = readOptionalString(problems, at(fieldPath, 'sql_type'), obj.sql_type);
    if (sqlType !== undefined) field.sql_type = sqlType;
    const nullable = readOptionalBoolean(problems, at(fieldPath, 'nullable'), obj.nullable);
    if (nullable !== undefined) field.nullable = nullable;
    const isEnum = field.type === 'enum' || field.sql_type === 'enum';
    if (obj.enum_values !== undefined && obj.enum_values !== null) {
      const values = readStringArray(problems, at(fieldPath, 'enum_values'), obj.enum_values);
      // the compiler may write [] for fields that are not enums; only a real list constrains values
      if (values !== undefined && values.length > 0) field.enum_values = values;
      if (isEnum && values?.length === 0) problems.add(at(fieldPath, 'enum_values'), 'an enum field needs at least one value');
    } else if (isEnum) {
      problems.add(at(fieldPath, 'enum_values'), 'required for an enum field');
    }
    fields[key] = field;
  }
  return fields;
}

function loadRelations(problems: Problems, path: string, raw: unknown, entities: Record<string, EntityDef>): Record<string, RelationDef> {
  const relations: Record<string, RelationDef> = {};
  if (raw === undefined || raw === null) return relations;
  const source = readObject(problems, path, raw);
  if (source === undefined) return relations;
  for (const [key, value] of entriesOf(problems, path, source)) {
    const relPath = at(path, key);
    const obj = readObject(problems, relPath, value);
    if (obj === undefined) continue;
    const relation = loadRelation(problems, relPath, key, obj, entities);
    if (relation !== undefined) relations[key] = relation;
  }
  return relations;
}

function loadRelation(
  problems: Problems,
  path: string,
  key: string,
  obj: JsonObject,
  entities: Record<string, EntityDef>,
): RelationDef | undefined {
  const name = readName(problems, path, key, obj.name);
  const target = readString(problems, at(path, 'target'), obj.target);
  if (target !== undefined && !hasOwn(entities, target)) {
    problems.add(at(path, 'target'), `unknown entity "${target}"`);
  }
  const isMany = readOptionalBoolean(problems, at(path, 'is_many'), obj.is_many) ?? false;
  const targetTable = readOptionalString(problems, at(path, 'target_table'), obj.target_table);
  // read even when unused, so a wrong type is still reported
  const foreignKey = readOptionalString(problems, at(path, 'foreign_key'), obj.foreign_key);
  const inverseKey = readOptionalString(problems, at(path, 'inverse_key'), obj.inverse_key);
  const through = readThrough(problems, at(path, 'through'), obj.through);

  if (!isMany && inverseKey !== undefined) problems.add(at(path, 'inverse_key'), 'inverse_key applies only to many relations');
  if (!isMany && through !== undefined) problems.add(at(path, 'through'), 'through applies only to many relations');
  if (target === undefined || !hasOwn(entities, target)) return undefined;

  // the storage is decided once the migration is read (see storage.ts); here only what the artifact says
  const declared: DeclaredStorage = {};
  if (foreignKey !== undefined) declared.foreign_key = foreignKey;
  if (isMany && inverseKey !== undefined) declared.inverse_key = inverseKey;
  if (isMany && through !== undefined) declared.through = through;
  return { name, target, target_table: targetTable ?? entities[target].table, is_many: isMany, declared };
}
