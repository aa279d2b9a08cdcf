/** Which jobs an event starts: every `after` hook of the entity and operation, in artifact order. */
import type { Artifact, JobDef } from '../artifact/types';

export interface MatchedHook {
  entity: string;
  operation: string;
  timing: 'after';
  jobs: JobDef[];
}

export function matchHooks(artifact: Artifact, entity: string, operation: string): MatchedHook[] {
  return artifact.hooks
    .filter((h) => h.timing === 'after' && h.entity === entity && h.operation === operation && h.jobs.length > 0)
    .map((h) => ({ entity, operation, timing: 'after' as const, jobs: h.jobs.map((name) => artifact.jobs[name]).filter(Boolean) }));
}
