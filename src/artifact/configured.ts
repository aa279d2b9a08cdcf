/**
 * Client and worker accept a loaded artifact, a path or a parsed object; relation storage is decided
 * again with the config's `[relations]`, which always apply.
 */
import type { RuntimeConfig } from '../config/types';
import { readCatalog, type CatalogQuery } from '../sql/catalog';
import { applyRelationOverrides } from './relations';
import { loadArtifact } from './load';
import type { Artifact } from './types';

export function resolveArtifact(artifact: Artifact | string | object, config: RuntimeConfig): Artifact {
  const loaded = isLoaded(artifact) ? artifact : loadArtifact(artifact as string | object);
  return applyRelationOverrides(loaded, config.relations);
}

/**
 * Like resolveArtifact, and when the artifact carries no migration, the live catalog of the database
 * takes the migration's place: the tables as they are decide the relations the config does not.
 */
export async function resolveArtifactWithDatabase(
  artifact: Artifact | string | object,
  config: RuntimeConfig,
  database: CatalogQuery,
): Promise<Artifact> {
  const loaded = isLoaded(artifact) ? artifact : loadArtifact(artifact as string | object);
  if (loaded.schema !== undefined) return applyRelationOverrides(loaded, config.relations);
  return applyRelationOverrides(loaded, config.relations, await readCatalog(database));
}

function isLoaded(a: unknown): a is Artifact {
  return typeof a === 'object' && a !== null && Array.isArray((a as Artifact).warnings) && Array.isArray((a as Artifact).hooks);
}
