export { loadRuntimeConfig } from './load';
export { resolveRuntimeConfig, defaultRuntimeConfig, type RuntimeConfigOptions, type ResolveOptions } from './resolve';
export { parseDuration } from './duration';
export { ConfigError, type ConfigProblem } from './errors';
export type * from './types';
