import type { ConfigInputs } from './inputs';
import type { Reader } from './reader';
import type { Table } from './values';

/** [email]: SMTP. Absent section → no email provider configured; present without host → a problem. */
export function readEmail(reader: Reader, doc: Table): ConfigInputs['email'] {
  const section = reader.table(doc, 'email', 'email');
  if (!section) return undefined;
  const host = reader.string(section, 'host', 'email.host');
  const email = {
    port: reader.integer(section, 'port', 'email.port', { min: 1, max: 65535 }),
    user: reader.string(section, 'user', 'email.user'),
    password: reader.string(section, 'password', 'email.password', { secret: true }),
    from: reader.string(section, 'from', 'email.from'),
    tls: reader.boolean(section, 'tls', 'email.tls'),
    rate: reader.rate(section, 'rate', 'email.rate'),
    connections: reader.integer(section, 'connections', 'email.connections', { min: 1, max: 100 }),
  };
  if (host === undefined) {
    if (section.host === undefined) reader.problem('email.host', 'required when [email] is present');
    return undefined;
  }
  return { host, ...email };
}
