/** Artifacts for the loader's tests: the example and fixture files, and the problems a load reports. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArtifactError, loadArtifact } from '../../src/artifact';
import type { ArtifactProblem } from '../../src/artifact';

export const HELPDESK_PATH = join(__dirname, '../../examples/helpdesk-relations/artifact.json');
export const TRACKER_PATH = join(__dirname, '../fixtures/artifacts/project-tracker.json');

// The raw JSON is edited in tests, so it is typed loosely on purpose.
export type Json = any;

export function helpdeskJson(): Json {
  return JSON.parse(readFileSync(HELPDESK_PATH, 'utf8'));
}

/** The problems loading reports; fails the test when the artifact loads. */
export function problemsOf(input: string | object, options?: Parameters<typeof loadArtifact>[1]): ArtifactProblem[] {
  expect(() => loadArtifact(input, options)).toThrow(ArtifactError);
  try {
    loadArtifact(input, options);
  } catch (err) {
    return (err as ArtifactError).problems;
  }
  throw new Error('unreachable');
}
