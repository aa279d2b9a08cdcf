/** The parts of a compiled Forge artifact that forge-jobs reads, after loading and validation. */
import type { DatabaseSchema } from './migration';

export type { DatabaseSchema };

export interface FieldDef {
  name: string;
  type: string;
  sql_type?: string;
  nullable?: boolean;
  enum_values?: string[];
}

/** How a many relation is stored when it goes through a join table. */
export interface ThroughDef {
  table: string;
  /** column of the join table that references the source entity's id */
  source_key: string;
  /** column of the join table that references the target entity's id */
  target_key: string;
}

/** Where a relation's storage was found, in the order it is looked for. */
export type StorageSource = 'config' | 'artifact' | 'migration' | 'catalog' | 'convention';

/** The storage keys of a relation as the artifact itself wrote them. */
export interface DeclaredStorage {
  foreign_key?: string;
  inverse_key?: string;
  through?: ThroughDef;
}

/**
 * A relation with its storage decided: exactly one of foreign_key (a column of the source table, the only
 * storage of a single relation; for a many relation it holds one target per source row), inverse_key or
 * through.
 */
export interface RelationDef {
  name: string;
  target: string;
  target_table: string;
  /** column on the source table that references the target id (single: default `<name>_id`) */
  foreign_key?: string;
  is_many: boolean;
  /** many relation: column on the target table that references the source id (default `<snake(source)>_id`) */
  inverse_key?: string;
  through?: ThroughDef;
  /** where the storage came from; absent on relations built by hand, which count as the artifact's */
  storage?: StorageSource;
  /** the artifact's own keys, so that the config or the catalog can decide the storage again */
  declared?: DeclaredStorage;
  /** no storage was found: what was looked for. A job that needs this relation cannot start. */
  missing?: string;
}

export interface EntityDef {
  name: string;
  table: string;
  fields: Record<string, FieldDef>;
  relations: Record<string, RelationDef>;
}

export type Literal = string | number | boolean | null;
export type CompareOp = '==' | '!=' | '<' | '<=' | '>' | '>=';

/** A parsed needs_filter. Values are literals only: they become bind parameters, never SQL text. */
export type FilterExpr =
  | { kind: 'and'; left: FilterExpr; right: FilterExpr }
  | { kind: 'or'; left: FilterExpr; right: FilterExpr }
  | { kind: 'not'; expr: FilterExpr }
  | { kind: 'cmp'; field: string; op: CompareOp; value: Literal }
  | { kind: 'in'; field: string; values: Literal[] };

/** One resolved hop of a needs path. */
export interface NeedsHop {
  /** entity the hop starts from */
  from: string;
  relation: RelationDef;
}

export interface NeedsPath {
  /** the path as written, e.g. "Ticket.org.members" */
  text: string;
  /** hops after the trigger entity; empty means the trigger record itself */
  hops: NeedsHop[];
  /** entity of the targets the path reaches */
  targetEntity: string;
}

export interface JobDef {
  name: string;
  input_entity: string;
  /** every needs path of the job (needs_path, comma-separated paths, or `needs`); targets are their union */
  needs: NeedsPath[];
  /** the raw filter text, as the compiler wrote it */
  needs_filter?: string;
  filter?: FilterExpr;
  capabilities: string[];
  target_entity?: string;
  field_mappings?: Record<string, string>;
}

export type Operation = 'create' | 'update' | 'delete';

export interface HookDef {
  entity: string;
  timing: 'before' | 'after';
  operation: Operation;
  jobs: string[];
}

export interface Artifact {
  entities: Record<string, EntityDef>;
  jobs: Record<string, JobDef>;
  hooks: HookDef[];
  /** problems that do not refuse the artifact (e.g. a field mapping to a field the entity does not list) */
  warnings: string[];
  /** the tables the artifact's `migration.up` creates, when it carries one */
  schema?: DatabaseSchema;
  /** jobs refused at load, with the reason: their hooks start nothing */
  refused?: Record<string, string>;
}

export interface ArtifactProblem {
  /** JSON path of the problem, e.g. `jobs.notify_agents.needs_path` */
  path: string;
  message: string;
}
