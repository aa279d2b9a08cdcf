import type { ThroughDef } from '../artifact/types';
import type { Reader } from './reader';
import type { RelationOverride } from './types';
import { childPath, type Table } from './values';

const RELATION_KEY = /^[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$/;
const THROUGH_KEYS = ['table', 'source_key', 'target_key'] as const;

/**
 * [relations."Entity.rel"]: how a relation is stored, winning over the artifact, so an app can
 * describe its many relations without editing compiled output. Checked against entities later,
 * when the artifact is loaded; here only the shape.
 */
export function readRelations(reader: Reader, doc: Table): Record<string, RelationOverride> {
  const section = reader.table(doc, 'relations', 'relations') ?? {};
  const relations: Record<string, RelationOverride> = {};
  for (const key of Object.keys(section)) {
    const path = childPath('relations', key);
    if (!RELATION_KEY.test(key)) {
      reader.problem(path, 'key must be of the form "Entity.relation"');
      continue;
    }
    const table = reader.table(section, key, path);
    if (!table) continue;
    Object.defineProperty(relations, key, {
      value: readRelation(reader, table, path),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  return relations;
}

function readRelation(reader: Reader, table: Table, path: string): RelationOverride {
  const relation: RelationOverride = {};
  const inverseKey = reader.string(table, 'inverse_key', childPath(path, 'inverse_key'));
  if (inverseKey !== undefined) relation.inverse_key = inverseKey;
  const foreignKey = reader.string(table, 'foreign_key', childPath(path, 'foreign_key'));
  if (foreignKey !== undefined) relation.foreign_key = foreignKey;
  const through = readThrough(reader, table, childPath(path, 'through'));
  if (through) relation.through = through;
  if (table.inverse_key !== undefined && table.through !== undefined) {
    reader.problem(path, 'inverse_key and through are exclusive: a many relation is stored either on the target table or in a join table');
  }
  return relation;
}

function readThrough(reader: Reader, table: Table, path: string): ThroughDef | undefined {
  const through = reader.table(table, 'through', path);
  if (!through) return undefined;
  const values: Partial<ThroughDef> = {};
  for (const key of THROUGH_KEYS) {
    if (through[key] === undefined) reader.problem(childPath(path, key), 'required (through needs table, source_key and target_key)');
    else values[key] = reader.string(through, key, childPath(path, key));
  }
  const { table: joinTable, source_key, target_key } = values;
  return joinTable && source_key && target_key ? { table: joinTable, source_key, target_key } : undefined;
}
