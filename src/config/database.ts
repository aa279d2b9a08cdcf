import type { ConfigInputs } from './inputs';
import type { Reader } from './reader';
import type { Table } from './values';

const ADAPTERS = ['embedded', 'postgres'] as const;
type Adapter = (typeof ADAPTERS)[number];

/**
 * [database]: the adapter, and the url from [database.postgres] url or [database] url. A url, in the
 * file or in DATABASE_URL, means Postgres unless the file says embedded (DESIGN: "DATABASE_URL when set").
 */
export function readDatabase(reader: Reader, doc: Table, env: NodeJS.ProcessEnv): ConfigInputs['database'] {
  const section = reader.table(doc, 'database', 'database') ?? {};
  const adapter = readAdapter(reader, section);
  // embedded never reads the url, so its env: variable need not exist
  if (adapter === 'embedded') return { adapter };
  const postgres = reader.table(section, 'postgres', 'database.postgres') ?? {};
  const url =
    postgres.url !== undefined
      ? reader.string(postgres, 'url', 'database.postgres.url', { secret: true })
      : reader.string(section, 'url', 'database.url', { secret: true });
  const configured = postgres.url !== undefined || section.url !== undefined;
  if (configured) {
    if (url !== undefined && !/^postgres(ql)?:\/\//i.test(url)) {
      reader.problem(postgres.url !== undefined ? 'database.postgres.url' : 'database.url', 'must be a postgres:// or postgresql:// URL');
    }
    return { adapter: 'postgres', url };
  }
  const fromEnv = env.DATABASE_URL || undefined;
  if (adapter === 'postgres' && !fromEnv) {
    reader.problem('database.postgres.url', 'adapter "postgres" needs a url ([database.postgres] url, or DATABASE_URL in the environment)');
  }
  return fromEnv ? { adapter: 'postgres', url: fromEnv } : { adapter };
}

function readAdapter(reader: Reader, section: Table): Adapter | undefined {
  const adapter = reader.string(section, 'adapter', 'database.adapter');
  if (adapter === undefined || (ADAPTERS as readonly string[]).includes(adapter)) return adapter as Adapter | undefined;
  reader.problem('database.adapter', `must be "embedded" or "postgres", got ${JSON.stringify(adapter)}`);
  return undefined;
}
