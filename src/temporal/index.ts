export {
  findTemporalCli,
  cachedCliPath,
  TemporalCliNotFoundError,
  TEMPORAL_CLI_VERSION,
  TEMPORAL_CLI_MODULE,
  type FindTemporalCliOptions,
} from './provision';
export { startTemporalDevServer, type TemporalDevServer, type TemporalDevServerOptions } from './dev-server';
export { ensureSearchAttributes, listCustomSearchAttributes } from './register';
