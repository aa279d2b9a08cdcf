/** Client and worker accept a loaded artifact, a path or a parsed object; config relation overrides always apply. */
import type { RuntimeConfig } from '../config/types';
import { applyRelationOverrides } from './relations';
import { loadArtifact } from './load';
import type { Artifact } from './types';

export function resolveArtifact(artifact: Artifact | string | object, config: RuntimeConfig): Artifact {
  const loaded = isLoaded(artifact) ? artifact : loadArtifact(artifact as string | object);
  return Object.keys(config.relations).length > 0 ? applyRelationOverrides(loaded, config.relations) : loaded;
}

function isLoaded(a: unknown): a is Artifact {
  return typeof a === 'object' && a !== null && Array.isArray((a as Artifact).warnings) && Array.isArray((a as Artifact).hooks);
}
