import { normalizeAllowEntry } from './hosts';
import type { ConfigInputs } from './inputs';
import type { Reader } from './reader';
import type { Table } from './values';

/** [http]: the SSRF allow list (private/loopback destinations that may still be reached), timeout and send rate. */
export function readHttp(reader: Reader, doc: Table): ConfigInputs['http'] {
  const section = reader.table(doc, 'http', 'http') ?? {};
  const allow = reader.stringList(section, 'allow', 'http.allow', (value, path) => {
    const entry = normalizeAllowEntry(value);
    if (entry === undefined) reader.problem(path, `${JSON.stringify(value)} is neither a host name nor an IP address or CIDR`);
    return entry;
  });
  return { allow, timeoutMs: reader.duration(section, 'timeout', 'http.timeout'), rate: reader.rate(section, 'rate', 'http.rate') };
}
