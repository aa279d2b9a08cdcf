/**
 * entity.create against the table the artifact's migration creates, decided once at load instead of
 * failing on every event: a mapped column the table does not have is left out of the insert (warning),
 * and a job that gives no value for a NOT NULL column without a default is refused (warning; its hooks
 * start nothing).
 */
import { findColumn, findTable, type DatabaseSchema } from './migration';
import { at, type Problems } from './problems';
import type { EntityDef, HookDef, JobDef } from './types';

const ENTITY_CREATE = 'entity.create';

/** Changes `jobs` and `hooks` in place; returns the refused jobs with their reasons. */
export function checkInserts(
  problems: Problems,
  schema: DatabaseSchema,
  entities: Record<string, EntityDef>,
  jobs: Record<string, JobDef>,
  hooks: HookDef[],
): Record<string, string> {
  const refused: Record<string, string> = {};
  for (const job of Object.values(jobs)) {
    if (!job.capabilities.includes(ENTITY_CREATE) || job.target_entity === undefined || job.field_mappings === undefined) continue;
    const entity = entities[job.target_entity];
    const table = entity && findTable(schema, entity.table);
    if (!table) continue;
    const path = at('jobs', job.name);

    const mappings: Record<string, string> = {};
    for (const [key, value] of Object.entries(job.field_mappings)) {
      const column = findColumn(table, key);
      if (column) Object.defineProperty(mappings, column.name, { value, enumerable: true, writable: true, configurable: true });
      else
        problems.warn(
          at(at(path, 'field_mappings'), key),
          `table ${table.name} has no column "${key}" in the artifact's migration; the insert leaves it out`,
        );
    }
    job.field_mappings = mappings;

    const unfilled = Object.values(table.columns).filter(
      (c) => c.notNull && !c.hasDefault && !Object.prototype.hasOwnProperty.call(mappings, c.name),
    );
    if (unfilled.length > 0) {
      const names = unfilled.map((c) => c.name).join(', ');
      const reason =
        `refused: table ${table.name} needs ${names} (NOT NULL without a default in the artifact's migration) ` +
        `and field_mappings gives no value for ${unfilled.length === 1 ? 'it' : 'them'}; the job is never started`;
      problems.warn(path, reason);
      refused[job.name] = reason;
    }
  }
  for (const name of Object.keys(refused)) delete jobs[name];
  for (const hook of hooks) hook.jobs = hook.jobs.filter((name) => !Object.prototype.hasOwnProperty.call(refused, name));
  return refused;
}
