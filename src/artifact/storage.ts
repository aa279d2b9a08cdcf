/**
 * How each relation is stored, decided in one place. In order: `[relations."Entity.rel"]` of the config
 * (applied by relations.ts), the artifact's own inverse_key / through, the tables of the artifact's
 * migration (or of the live catalog when it carries none), and only then the naming convention.
 */
import { findColumn, findTable, type DatabaseSchema, type SchemaColumn, type SchemaTable } from './migration';
import { defaultForeignKey, defaultInverseKey } from './naming';
import { at } from './problems';
import type { ArtifactProblem, DeclaredStorage, EntityDef, JobDef, RelationDef, StorageSource } from './types';

/** A relation whose rows hold the target's id: every single relation, and a many relation stored on the source table. */
export function storedOnSource(relation: RelationDef): boolean {
  return !relation.is_many || (relation.foreign_key !== undefined && relation.inverse_key === undefined && relation.through === undefined);
}

/** The artifact's own keys of a relation; a relation built by hand declares what it holds. */
export function declaredStorage(relation: RelationDef): DeclaredStorage {
  if (relation.declared !== undefined) return relation.declared;
  const declared: DeclaredStorage = {};
  if (relation.foreign_key !== undefined) declared.foreign_key = relation.foreign_key;
  if (relation.inverse_key !== undefined) declared.inverse_key = relation.inverse_key;
  if (relation.through !== undefined) declared.through = { ...relation.through };
  return declared;
}

type Base = Pick<RelationDef, 'name' | 'target' | 'target_table' | 'is_many' | 'declared'>;

function baseOf(relation: RelationDef): Base {
  return {
    name: relation.name,
    target: relation.target,
    target_table: relation.target_table,
    is_many: relation.is_many,
    declared: declaredStorage(relation),
  };
}

/** The storage of a relation without a config override: the artifact's keys, then the schema, then the convention. */
export function decideStorage(source: EntityDef, relation: RelationDef, schema: DatabaseSchema | undefined): RelationDef {
  const base = baseOf(relation);
  const declared = base.declared!;
  if (!relation.is_many) {
    const foreignKey = declared.foreign_key ?? defaultForeignKey(relation.name);
    const decided: RelationDef = {
      ...base,
      foreign_key: foreignKey,
      storage: declared.foreign_key !== undefined ? 'artifact' : 'convention',
    };
    const table = schema && findTable(schema, source.table);
    const column = table && findColumn(table, foreignKey);
    if (table && !column) return { ...decided, missing: `no column ${foreignKey} on ${table.name} in the ${schema!.origin}` };
    return column ? { ...decided, foreign_key: column.name } : decided;
  }
  if (declared.through !== undefined) return { ...base, through: { ...declared.through }, storage: 'artifact' };
  if (declared.inverse_key !== undefined) return { ...base, inverse_key: declared.inverse_key, storage: 'artifact' };
  // a many relation built by hand with only a foreign_key is stored on its source table
  if (relation.declared === undefined && declared.foreign_key !== undefined)
    return { ...base, foreign_key: declared.foreign_key, storage: 'artifact' };
  const found = schema && fromSchema(source, relation, declared, schema);
  return found ?? { ...base, inverse_key: defaultInverseKey(source.name), storage: 'convention' };
}

/**
 * A many relation as the schema stores it: the artifact's foreign_key on the source table (the compiler's
 * own storage, one target per source row), a column on the target table referencing the source (the
 * inverse key), or a table with keys to both sides (a join table). Undefined when the schema does not
 * hold both tables, so the convention applies.
 */
function fromSchema(source: EntityDef, relation: RelationDef, declared: DeclaredStorage, schema: DatabaseSchema): RelationDef | undefined {
  const sourceTable = findTable(schema, source.table);
  const targetTable = findTable(schema, relation.target_table);
  if (!sourceTable || !targetTable) return undefined;
  const base = baseOf(relation);
  const storage: StorageSource = schema.origin;

  const foreignKey = declared.foreign_key ?? defaultForeignKey(relation.name);
  const onSource = findColumn(sourceTable, foreignKey);
  if (onSource && (onSource.references === undefined || onSource.references === targetTable.name)) {
    return { ...base, foreign_key: onSource.name, storage };
  }

  const inverseKey = defaultInverseKey(source.name);
  const byName = findColumn(targetTable, inverseKey);
  const referencing = sourceTable === targetTable ? [] : columnsReferencing(targetTable, sourceTable);
  const inverse =
    byName && (byName.references === undefined || byName.references === sourceTable.name)
      ? byName
      : referencing.length === 1
        ? referencing[0]
        : undefined;
  if (inverse) return { ...base, inverse_key: inverse.name, storage };

  const joins = sourceTable === targetTable ? [] : joinTables(schema, sourceTable, targetTable);
  if (joins.length === 1) return { ...base, through: joins[0], storage };

  const looked = [
    `no column ${foreignKey} on ${sourceTable.name}`,
    referencing.length > 1
      ? `several columns of ${targetTable.name} reference ${sourceTable.name} (${referencing.map((c) => c.name).join(', ')})`
      : `no column ${inverseKey} (or referencing ${sourceTable.name}) on ${targetTable.name}`,
    joins.length > 1
      ? `several tables join ${sourceTable.name} and ${targetTable.name} (${joins.map((j) => j.table).join(', ')})`
      : `no table with keys to both ${sourceTable.name} and ${targetTable.name}`,
  ];
  return { ...base, storage, missing: `no storage found in the ${schema.origin}: ${looked.join(', ')}` };
}

function columnsReferencing(table: SchemaTable, referenced: SchemaTable): SchemaColumn[] {
  return Object.values(table.columns).filter((c) => c.references === referenced.name);
}

function joinTables(schema: DatabaseSchema, source: SchemaTable, target: SchemaTable) {
  const joins: { table: string; source_key: string; target_key: string }[] = [];
  for (const table of Object.values(schema.tables)) {
    if (table === source || table === target) continue;
    const toSource = columnsReferencing(table, source);
    const toTarget = columnsReferencing(table, target);
    if (toSource.length === 1 && toTarget.length === 1)
      joins.push({ table: table.name, source_key: toSource[0].name, target_key: toTarget[0].name });
  }
  return joins;
}

const FROM: Record<StorageSource, string> = {
  config: 'from the config',
  artifact: 'from the artifact',
  migration: 'from the migration',
  catalog: 'from the database catalog',
  convention: 'by convention',
};

/** One line for a person: which column or table holds the relation, and where that was found. */
export function describeStorage(fromTable: string, relation: RelationDef): string {
  const from = FROM[relation.storage ?? 'artifact'];
  if (relation.missing !== undefined) return `none found (${relation.missing})`;
  if (storedOnSource(relation)) {
    const one = relation.is_many ? '; one target per source row' : '';
    return `${fromTable}.${relation.foreign_key ?? defaultForeignKey(relation.name)} → ${relation.target_table}.id (${from}${one})`;
  }
  if (relation.through) {
    const { table, source_key, target_key } = relation.through;
    return `join table ${table}: ${source_key} → ${fromTable}.id, ${target_key} → ${relation.target_table}.id (${from})`;
  }
  return `${relation.target_table}.${relation.inverse_key} → ${fromTable}.id (${from})`;
}

/**
 * What the decided storage asks a person to know: a many relation that holds one target per source row,
 * and a relation some job needs whose storage was not found. Derived from the relations alone, so a
 * second decision (the config, the catalog) replaces them exactly.
 */
export function storageNotes(
  entities: Record<string, EntityDef>,
  jobs: Record<string, JobDef>,
): { warnings: ArtifactProblem[]; missing: ArtifactProblem[] } {
  const warnings: ArtifactProblem[] = [];
  for (const entity of Object.values(entities)) {
    for (const relation of Object.values(entity.relations)) {
      if (relation.is_many && relation.missing === undefined && storedOnSource(relation)) {
        warnings.push({
          path: at(at(at('entities', entity.name), 'relations'), relation.name),
          message:
            `many relation stored as ${entity.table}.${relation.foreign_key} (${FROM[relation.storage ?? 'artifact']}): ` +
            `it holds one ${relation.target} per ${entity.name} row`,
        });
      }
    }
  }
  const missing: ArtifactProblem[] = [];
  for (const job of Object.values(jobs)) {
    for (const needs of job.needs) {
      for (const hop of needs.hops) {
        if (hop.relation.missing === undefined) continue;
        const key = `${hop.from}.${hop.relation.name}`;
        const problem = {
          path: at(at('jobs', job.name), 'needs_path'),
          message: `relation ${key}: ${hop.relation.missing}; declare its storage under [relations."${key}"] in forge.runtime.toml`,
        };
        if (!missing.some((m) => m.path === problem.path && m.message === problem.message)) missing.push(problem);
      }
    }
  }
  return { warnings, missing };
}
