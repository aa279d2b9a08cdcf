import { hasOwn } from './shape';
import type { EntityDef } from './types';

/** Columns every Forge table has although the compiler does not list them as fields. */
export const IMPLICIT_FIELDS: readonly string[] = ['id', 'created_at', 'updated_at'];

export function hasField(entity: EntityDef, field: string): boolean {
  return IMPLICIT_FIELDS.includes(field) || hasOwn(entity.fields, field);
}

/** Organization → organization, ActivityLog → activity_log, HTTPRequest → http_request. */
export function snakeCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2')
    .toLowerCase();
}

/** Storage defaults of the relation semantics in DESIGN.md, in one place. */
export function defaultForeignKey(relationName: string): string {
  return `${relationName}_id`;
}

export function defaultInverseKey(sourceEntity: string): string {
  return `${snakeCase(sourceEntity)}_id`;
}
