import type { ArtifactProblem } from './types';

/** A refused artifact (or relation override), carrying every problem found, not just the first. */
export class ArtifactError extends Error {
  readonly problems: ArtifactProblem[];

  constructor(problems: ArtifactProblem[]) {
    super(['invalid artifact:', ...problems.map((p) => `  ${formatProblem(p)}`)].join('\n'));
    this.name = 'ArtifactError';
    this.problems = problems;
  }
}

export function formatProblem(problem: ArtifactProblem): string {
  return `${problem.path}: ${problem.message}`;
}

/**
 * Extends a JSON-ish path. Keys that are not plain identifiers are quoted, so that
 * `relations."Ticket.org"` cannot be mistaken for two levels.
 */
export function at(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`;
  const segment = /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? key : JSON.stringify(key);
  return path === '' ? segment : `${path}.${segment}`;
}

/** Collects problems while validation goes on, so one load reports all of them. */
export class Problems {
  readonly errors: ArtifactProblem[] = [];
  readonly warnings: ArtifactProblem[] = [];

  add(path: string, message: string): void {
    pushOnce(this.errors, { path, message });
  }

  warn(path: string, message: string): void {
    pushOnce(this.warnings, { path, message });
  }

  throwIfAny(): void {
    if (this.errors.length > 0) throw new ArtifactError(this.errors);
  }
}

/** The same mistake written twice in one place (e.g. a field in two comparisons) is one problem. */
function pushOnce(list: ArtifactProblem[], problem: ArtifactProblem): void {
  if (!list.some((p) => p.path === problem.path && p.message === problem.message)) list.push(problem);
}
