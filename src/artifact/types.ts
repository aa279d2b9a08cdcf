/** The parts of a compiled Forge artifact that forge-jobs reads, after loading and validation. */

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

export interface RelationDef {
  name: string;
  target: string;
  target_table: string;
  /** single relation: column on the source table (default `<name>_id`); ignored for many relations */
  foreign_key?: string;
  is_many: boolean;
  /** many relation: column on the target table that references the source id (default `<snake(source)>_id`) */
  inverse_key?: string;
  through?: ThroughDef;
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
}

export interface ArtifactProblem {
  /** JSON path of the problem, e.g. `jobs.notify_agents.needs_path` */
  path: string;
  message: string;
}
