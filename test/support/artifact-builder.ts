/**
 * Artifacts for tests, from one description: build() gives the loaded Artifact without the loader (relation
 * defaults filled the way the loader fills them: foreign_key `<name>_id`, inverse_key `<snake(source)>_id`,
 * target_table; needs paths resolved into hops), compiled() the JSON the Forge compiler writes (DESIGN.md's
 * artifact format: typed fields, relations, jobs with needs, capabilities and `creates:` mappings, hooks).
 */
import type {
  Artifact,
  EntityDef,
  FieldDef,
  FilterExpr,
  HookDef,
  JobDef,
  Literal,
  NeedsHop,
  NeedsPath,
  ThroughDef,
} from '../../src/artifact/types';
import { parseFilter } from '../../src/artifact/filter';

export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

interface PendingRelation {
  source: string;
  name: string;
  target: string;
  is_many: boolean;
  foreign_key?: string;
  inverse_key?: string;
  through?: ThroughDef;
}

/** A field as the compiler writes it under `entities.<E>.fields`. */
export interface FieldSpec {
  name: string;
  type: string;
  sql_type?: string;
  nullable?: boolean;
  enum_values?: string[];
}

interface FieldOptions {
  /** default false: a Forge field is required unless declared optional */
  nullable?: boolean;
}

const typed =
  (type: string, sql_type: string) =>
  (name: string, options: FieldOptions = {}): FieldSpec => ({ name, type, sql_type, nullable: options.nullable ?? false });

/**
 * Typed fields, with the compiler's type and sql_type. A bare name given to entity() is an optional text
 * field (`string`, `text`, nullable).
 */
export const field = {
  text: typed('string', 'text'),
  int: typed('int', 'integer'),
  bool: typed('bool', 'boolean'),
  uuid: typed('uuid', 'uuid'),
  time: typed('time', 'timestamp with time zone'),
  /** `type` and `sql_type` `enum`, as the compiler writes them, with the values */
  enum: (name: string, values: string[], options: FieldOptions = {}): FieldSpec => ({
    name,
    type: 'enum',
    sql_type: 'enum',
    nullable: options.nullable ?? false,
    enum_values: values,
  }),
};

function fieldSpec(f: string | FieldSpec): FieldSpec {
  return typeof f === 'string' ? { name: f, type: 'string', sql_type: 'text', nullable: true } : f;
}

/** An `entity.create` job's `creates:` clause: the entity it inserts and its columns' expressions. */
export interface Creates {
  /** target_entity */
  entity: string;
  /** field_mappings: column → expression as the compiler writes it (`"\"literal\""`, `data.field`, `42`) */
  fields: Record<string, string>;
}

export interface JobOptions {
  /** needs_filter: an expression (written with filterText), or the text exactly as given */
  filter?: FilterExpr | string;
  /** default `['email.send']`, or `['entity.create']` with `creates` */
  capabilities?: string[];
  creates?: Creates;
}

interface PendingJob {
  name: string;
  input: string;
  paths: string[];
  filter?: FilterExpr;
  filterText?: string;
  capabilities: string[];
  creates?: Creates;
}

interface PendingEntity {
  table: string;
  /** `id` first; compiled() writes it only when given typed (the loader knows `id` without it) */
  fields: FieldSpec[];
  /** `id` given typed: compiled() writes it, as the compiler does */
  typedId: boolean;
}

export class ArtifactBuilder {
  private readonly entities = new Map<string, PendingEntity>();
  private readonly relations: PendingRelation[] = [];
  private readonly jobs: PendingJob[] = [];
  private readonly hooks: HookDef[] = [];

  /**
   * An entity; `id` is always among its fields. A field is a name (optional text) or typed (`field.int('total')`);
   * give `field.uuid('id')` for compiled() to list `id` as the compiler does.
   */
  entity(name: string, table: string, fields: Array<string | FieldSpec> = []): this {
    const specs = fields.map(fieldSpec);
    const id = specs.find((f) => f.name === 'id');
    const typedId = fields.some((f) => typeof f !== 'string' && f.name === 'id');
    this.entities.set(name, {
      table,
      fields: [id ?? { name: 'id', type: 'string' }, ...specs.filter((f) => f.name !== 'id')],
      typedId,
    });
    return this;
  }

  /** single `source.name -> target`: `foreign_key` on source's table (default `<name>_id`). */
  single(source: string, name: string, target: string, foreignKey?: string): this {
    this.relations.push({ source, name, target, is_many: false, foreign_key: foreignKey });
    return this;
  }

  /**
   * many `source.name -> target` by a column on target's table (default `<snake(source)>_id`). In
   * compiled() output, without an inverseKey it is written as the compiler writes it: only a
   * foreign_key `<name>_id`, which says nothing about storage.
   */
  many(source: string, name: string, target: string, inverseKey?: string): this {
    this.relations.push({ source, name, target, is_many: true, inverse_key: inverseKey });
    return this;
  }

  /** many `source.name -> target` through a join table. */
  through(source: string, name: string, target: string, through: ThroughDef): this {
    this.relations.push({ source, name, target, is_many: true, through });
    return this;
  }

  /**
   * A job whose needs are the union of `paths` (each `Entity.rel.rel…`, or just `Entity`); no path (`''` or
   * `[]`) is the trigger record itself. The fourth argument is the filter, or the filter and capabilities.
   */
  job(name: string, input: string, paths: string | string[], filter?: FilterExpr | JobOptions, capabilities = ['email.send']): this {
    const options: JobOptions = filter === undefined || 'kind' in filter ? { filter, capabilities } : filter;
    const list = (Array.isArray(paths) ? paths : [paths]).filter((p) => p !== '');
    const text = typeof options.filter === 'string' ? options.filter : undefined;
    this.jobs.push({
      name,
      input,
      paths: list,
      filter: text === undefined ? (options.filter as FilterExpr | undefined) : parseFilter(text),
      filterText: text,
      capabilities: options.capabilities ?? (options.creates ? ['entity.create'] : ['email.send']),
      creates: options.creates,
    });
    return this;
  }

  /** An `entity.create` job on the trigger record: one `target` row per run, its columns from `fields`. */
  creates(name: string, input: string, target: string, fields: Record<string, string>): this {
    return this.job(name, input, '', { creates: { entity: target, fields } });
  }

  /** A hook: `after` unless told (`before` hooks are in the artifact but start nothing). */
  hook(entity: string, operation: HookDef['operation'], jobs: string[], timing: HookDef['timing'] = 'after'): this {
    this.hooks.push({ entity, timing, operation, jobs });
    return this;
  }

  build(): Artifact {
    const entities: Record<string, EntityDef> = {};
    for (const [name, { table, fields }] of this.entities) {
      const fieldDefs: Record<string, FieldDef> = {};
      for (const f of fields) fieldDefs[f.name] = { ...f, ...(f.enum_values && { enum_values: [...f.enum_values] }) };
      entities[name] = { name, table, fields: fieldDefs, relations: {} };
    }
    for (const r of this.relations) {
      const source = entities[r.source];
      const target = entities[r.target];
      if (!source || !target) throw new Error(`relation ${r.source}.${r.name}: unknown entity`);
      source.relations[r.name] = r.is_many
        ? {
            name: r.name,
            target: r.target,
            target_table: target.table,
            is_many: true,
            ...(r.through ? { through: r.through } : { inverse_key: r.inverse_key ?? `${snakeCase(r.source)}_id` }),
          }
        : { name: r.name, target: r.target, target_table: target.table, is_many: false, foreign_key: r.foreign_key ?? `${r.name}_id` };
    }
    const jobs: Record<string, JobDef> = {};
    for (const j of this.jobs) {
      jobs[j.name] = {
        name: j.name,
        input_entity: j.input,
        needs:
          j.paths.length === 0 ? [{ text: '', hops: [], targetEntity: j.input }] : j.paths.map((p) => resolvePath(entities, j.input, p)),
        ...(j.filterText !== undefined && { needs_filter: j.filterText }),
        ...(j.filter && { filter: j.filter }),
        capabilities: [...j.capabilities],
        ...(j.creates && { target_entity: j.creates.entity, field_mappings: { ...j.creates.fields } }),
      };
    }
    return { entities, jobs, hooks: this.hooks.map((h) => ({ ...h, jobs: [...h.jobs] })), warnings: [] };
  }

  compiled(options: CompiledOptions = {}): CompiledArtifact {
    const entities: Record<string, CompiledEntity> = {};
    for (const [name, { table, fields, typedId }] of this.entities) {
      const relations: Record<string, CompiledRelation> = {};
      for (const r of this.relations.filter((x) => x.source === name)) {
        const target = this.entities.get(r.target);
        if (!target) throw new Error(`relation ${r.source}.${r.name}: unknown entity`);
        relations[r.name] = {
          name: r.name,
          target: r.target,
          target_table: target.table,
          is_many: r.is_many,
          foreign_key: r.is_many ? `${r.name}_id` : (r.foreign_key ?? `${r.name}_id`),
          ...(r.inverse_key && { inverse_key: r.inverse_key }),
          ...(r.through && { through: r.through }),
        };
      }
      const fieldDefs = Object.fromEntries(fields.filter((f) => typedId || f.name !== 'id').map((f) => [f.name, { ...f }]));
      entities[name] = { name, table, fields: fieldDefs, relations };
    }
    const jobs: Record<string, CompiledJob> = {};
    for (const j of this.jobs) {
      // As the compiler writes a job: needs_path and needs_filter only when the job has them.
      const filter = j.filterText ?? (j.filter && filterText(j.filter));
      jobs[j.name] = {
        name: j.name,
        input_entity: j.input,
        ...(j.paths.length > 0 && { needs_path: j.paths.join(', ') }),
        ...(filter !== undefined && { needs_filter: filter }),
        capabilities: [...j.capabilities],
        ...(j.creates && { target_entity: j.creates.entity, field_mappings: { ...j.creates.fields } }),
      };
    }
    const up = options.migration;
    return {
      version: '1.0.0',
      app_name: options.app_name ?? 'built',
      entities,
      jobs,
      hooks: this.hooks.map((h) => ({ ...h, jobs: [...h.jobs] })),
      ...(up !== undefined && { migration: { version: '001', up: typeof up === 'string' ? up.split('\n') : up, down: [] } }),
    };
  }
}

/** A FilterExpr in the compiler's CEL-style text. */
export function filterText(expr: FilterExpr): string {
  const lit = (v: Literal) => (typeof v === 'string' ? JSON.stringify(v) : String(v));
  switch (expr.kind) {
    case 'and':
      return `(${filterText(expr.left)} && ${filterText(expr.right)})`;
    case 'or':
      return `(${filterText(expr.left)} || ${filterText(expr.right)})`;
    case 'not':
      return `!(${filterText(expr.expr)})`;
    case 'cmp':
      return `(${expr.field} ${expr.op} ${lit(expr.value)})`;
    case 'in':
      return `(${expr.field} in [${expr.values.map(lit).join(', ')}])`;
  }
}

/** The artifact.json the compiler writes, in the keys forge-jobs reads (DESIGN.md, "Input"). */
export type CompiledArtifact = {
  version: string;
  app_name: string;
  entities: Record<string, CompiledEntity>;
  jobs: Record<string, CompiledJob>;
  hooks: HookDef[];
  migration?: { version: string; up: string[]; down: string[] };
};
export type CompiledEntity = {
  name: string;
  table: string;
  fields: Record<string, FieldSpec>;
  relations: Record<string, CompiledRelation>;
};
export type CompiledRelation = {
  name: string;
  target: string;
  target_table: string;
  is_many: boolean;
  foreign_key: string;
  inverse_key?: string;
  through?: ThroughDef;
};
export type CompiledJob = {
  name: string;
  input_entity: string;
  needs_path?: string;
  needs_filter?: string;
  capabilities: string[];
  target_entity?: string;
  field_mappings?: Record<string, string>;
};

export interface CompiledOptions {
  /** default `built` */
  app_name?: string;
  /** `migration.up`, as the compiler writes it (lines) or one string; none written without it */
  migration?: string[] | string;
}

/**
 * The artifact as JSON in the compiler's shape, for loadArtifact and everything that takes a path or an
 * object (worker, client, CLI): entities with fields and relations, jobs with needs_path and
 * needs_filter text, hooks, and the migration when given.
 */
export function compiled(builder: ArtifactBuilder, options: CompiledOptions = {}): CompiledArtifact {
  return builder.compiled(options);
}

export function artifact(): ArtifactBuilder {
  return new ArtifactBuilder();
}

function resolvePath(entities: Record<string, EntityDef>, input: string, text: string): NeedsPath {
  const [head, ...names] = text.split('.');
  if (head !== input) throw new Error(`path ${text} does not start at ${input}`);
  const hops: NeedsHop[] = [];
  let current = input;
  for (const name of names) {
    const relation = entities[current]?.relations[name];
    if (!relation) throw new Error(`path ${text}: ${current} has no relation ${name}`);
    hops.push({ from: current, relation });
    current = relation.target;
  }
  return { text, hops, targetEntity: current };
}

/** FilterExpr constructors, so tests read like the filter they stand for. */
export const f = {
  eq: (field: string, value: Literal): FilterExpr => ({ kind: 'cmp', field, op: '==', value }),
  ne: (field: string, value: Literal): FilterExpr => ({ kind: 'cmp', field, op: '!=', value }),
  lt: (field: string, value: Literal): FilterExpr => ({ kind: 'cmp', field, op: '<', value }),
  le: (field: string, value: Literal): FilterExpr => ({ kind: 'cmp', field, op: '<=', value }),
  gt: (field: string, value: Literal): FilterExpr => ({ kind: 'cmp', field, op: '>', value }),
  ge: (field: string, value: Literal): FilterExpr => ({ kind: 'cmp', field, op: '>=', value }),
  in: (field: string, values: Literal[]): FilterExpr => ({ kind: 'in', field, values }),
  not: (expr: FilterExpr): FilterExpr => ({ kind: 'not', expr }),
  and: (left: FilterExpr, right: FilterExpr, ...more: FilterExpr[]): FilterExpr =>
    [right, ...more].reduce<FilterExpr>((acc, e) => ({ kind: 'and', left: acc, right: e }), left),
  or: (left: FilterExpr, right: FilterExpr, ...more: FilterExpr[]): FilterExpr =>
    [right, ...more].reduce<FilterExpr>((acc, e) => ({ kind: 'or', left: acc, right: e }), left),
};
