export { loadArtifact, type LoadArtifactOptions } from './load';
export { parseFilter, evaluateFilter, filterComparisons, FilterSyntaxError } from './filter';
export { parseFieldMapping, evaluateFieldMapping, MappingSyntaxError, type MappingExpr } from './mapping';
export { applyRelationOverrides } from './relations';
export { ArtifactError, formatProblem } from './problems';
export { snakeCase, hasField, IMPLICIT_FIELDS } from './naming';
export type * from './types';
