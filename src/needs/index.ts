export {
  DEFAULT_MAX_TARGETS,
  explainNeeds,
  hopKeys,
  planNeeds,
  resolveNeeds,
  targetScope,
  isPermanentSqlError,
  type HopExplanation,
  type NeedsExplanation,
  type QueryFn,
  type Queryable,
  type ResolveNeedsInput,
  type ResolvedNeeds,
  type Row,
} from './resolve';
export { compileFilter, hopQuery, type CompiledFilter, type HopFilter, type SqlQuery } from '../sql/needs';
