/** One thing wrong with the runtime config: where (a dotted key path, '' for the file itself) and why. */
export interface ConfigProblem {
  path: string;
  message: string;
}

/** Label used when the config did not come from a file (resolveRuntimeConfig on an object). */
export const INLINE_SOURCE = '(inline)';

/**
 * Thrown once with every problem found, so a user fixes the file in one pass instead of one error
 * per run. Messages name keys and environment variables, never values that may be secrets.
 */
export class ConfigError extends Error {
  constructor(
    readonly file: string,
    readonly problems: ConfigProblem[],
  ) {
    super(formatConfigError(file, problems));
    this.name = 'ConfigError';
  }
}

export function formatConfigError(file: string, problems: ConfigProblem[]): string {
  const lines = problems.map((p) => `  ${p.path ? `${p.path}: ` : ''}${p.message}`);
  return `invalid runtime config ${file}:\n${lines.join('\n')}`;
}
