export {
  findTemporalCli,
  cachedCliPath,
  TemporalCliNotFoundError,
  TEMPORAL_CLI_VERSION,
  TEMPORAL_CLI_MODULE,
  type FindTemporalCliOptions,
} from './provision';
export {
  startTemporalDevServer,
  ensureSearchAttributes,
  listCustomSearchAttributes,
  type TemporalDevServer,
  type TemporalDevServerOptions,
} from './dev-server';
