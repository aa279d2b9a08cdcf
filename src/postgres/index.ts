export {
  startEmbeddedPostgres,
  resolveDatabase,
  type EmbeddedPostgres,
  type EmbeddedPostgresOptions,
  type RunningDatabase,
} from './embedded';
