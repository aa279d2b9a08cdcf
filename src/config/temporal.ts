import { isAbsolute, resolve } from 'node:path';
import type { ConfigInputs } from './inputs';
import type { Reader } from './reader';
import { isTable, typeName, type Table } from './values';

type TlsTable = Exclude<NonNullable<ConfigInputs['temporal']['tls']>, boolean>;

const PATH_KEYS = [
  ['client_cert', 'clientCertPath'],
  ['client_key', 'clientKeyPath'],
  ['server_root_ca_cert', 'serverRootCaCertPath'],
] as const;

/** [temporal]: where the cluster is. Switching dev server → cluster → Cloud is this section alone. */
export function readTemporal(reader: Reader, doc: Table, baseDir: string | undefined): ConfigInputs['temporal'] {
  const section = reader.table(doc, 'temporal', 'temporal') ?? {};
  return {
    address: reader.string(section, 'address', 'temporal.address'),
    namespace: reader.string(section, 'namespace', 'temporal.namespace'),
    tls: readTls(reader, section, baseDir),
    apiKey: reader.string(section, 'api_key', 'temporal.api_key', { secret: true }),
  };
}

function readTls(reader: Reader, section: Table, baseDir: string | undefined): ConfigInputs['temporal']['tls'] {
  const read = reader.read(section, 'tls', 'temporal.tls');
  if (!read) return undefined;
  if (!isTable(read.value)) {
    if (typeof read.value !== 'boolean' && !read.envName) {
      reader.problem(
        'temporal.tls',
        `expected true, false or a table { client_cert, client_key, server_root_ca_cert, server_name }, got ${typeName(read.value)}`,
      );
      return undefined;
    }
    // false is the same as absent, so consumers can test `if (tls)`
    return reader.asBoolean(read, 'temporal.tls') || undefined;
  }
  const table = read.value;
  const tls: TlsTable = {};
  for (const [key, field] of PATH_KEYS) {
    const path = reader.string(table, key, `temporal.tls.${key}`);
    // relative to the config file, not to wherever the worker happens to be started
    if (path !== undefined) tls[field] = baseDir && !isAbsolute(path) ? resolve(baseDir, path) : path;
  }
  const serverName = reader.string(table, 'server_name', 'temporal.tls.server_name');
  if (serverName !== undefined) tls.serverNameOverride = serverName;
  // mTLS needs both halves; one alone would fail at connect time with a less helpful message
  if ((table.client_cert === undefined) !== (table.client_key === undefined)) {
    const missing = table.client_cert === undefined ? 'client_cert' : 'client_key';
    reader.problem(`temporal.tls.${missing}`, 'client_cert and client_key must be given together');
  }
  return tls;
}
