import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { ConfigError, loadRuntimeConfig, resolveRuntimeConfig } from '../../../src/config';
import { configError, writeConfig } from '../../support/configs';

const noEnv = {} as NodeJS.ProcessEnv;
const problemsOf = (raw: unknown, env: NodeJS.ProcessEnv = noEnv) => configError(() => resolveRuntimeConfig(raw, { env })).problems;

describe('runtime config: malformed files', () => {
  it('file not found names the absolute path', () => {
    const missing = join(tmpdir(), 'no-such-dir', 'forge.runtime.toml');
    const err = configError(() => loadRuntimeConfig(missing, { env: noEnv }));
    expect(err.problems).toEqual([{ path: '', message: `file not found: ${missing}` }]);
    expect(err.message).toBe(`invalid runtime config ${missing}:\n  file not found: ${missing}`);
  });

  it('TOML syntax error: line and column, without the offending line (it may hold a secret)', () => {
    const file = writeConfig('[email]\nhost = "smtp"\npassword = "hunter2\nport = 25\n');
    const err = configError(() => loadRuntimeConfig(file, { env: noEnv }));
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0].path).toBe('');
    expect(err.problems[0].message).toMatch(/^TOML syntax error at line 3, column \d+: /);
    expect(err.message).not.toContain('hunter2');
    expect(err.message.startsWith(`invalid runtime config ${file}:\n  TOML syntax error`)).toBe(true);
  });

  it('a missing env variable names the key path and the variable', () => {
    expect(problemsOf({ email: { host: 'smtp', password: 'env:SMTP_PASSWORD' } })).toEqual([
      { path: 'email.password', message: 'environment variable SMTP_PASSWORD is not set' },
    ]);
  });

  it('wrong types: port = "abc", max_attempts = 0, concurrency = -1, timeout = "soon", all reported at once', () => {
    const file = writeConfig(`
[email]
host = "smtp"
port = "abc"
tls = "yes"
[jobs]
max_attempts = 0
concurrency = -1
timeout = "soon"
`);
    const err = configError(() => loadRuntimeConfig(file, { env: noEnv }));
    expect(err.problems).toEqual([
      { path: 'email.port', message: 'expected an integer, got a string "abc"' },
      { path: 'email.tls', message: 'expected a boolean, got a string "yes"' },
      { path: 'jobs.concurrency', message: 'must be an integer >= 1, got -1' },
      { path: 'jobs.timeout', message: 'invalid duration "soon" (use seconds, or a number with ms, s, m or h, e.g. "30s")' },
      { path: 'jobs.max_attempts', message: 'must be an integer >= 1, got 0' },
    ]);
    expect(err.message).toBe(
      `invalid runtime config ${file}:\n` +
        '  email.port: expected an integer, got a string "abc"\n' +
        '  email.tls: expected a boolean, got a string "yes"\n' +
        '  jobs.concurrency: must be an integer >= 1, got -1\n' +
        '  jobs.timeout: invalid duration "soon" (use seconds, or a number with ms, s, m or h, e.g. "30s")\n' +
        '  jobs.max_attempts: must be an integer >= 1, got 0',
    );
  });

  it('port out of range and a float where an integer is expected', () => {
    expect(problemsOf({ email: { host: 'h', port: 70000 }, jobs: { concurrency: 2.5 } })).toEqual([
      { path: 'email.port', message: 'must be an integer between 1 and 65535, got 70000' },
      { path: 'jobs.concurrency', message: 'expected an integer, got a float 2.5' },
    ]);
  });

  it('[email] connections must be a whole number from 1 to 100', () => {
    expect(problemsOf({ email: { host: 'h', connections: 0 } })).toEqual([
      { path: 'email.connections', message: 'must be an integer between 1 and 100, got 0' },
    ]);
    expect(problemsOf({ email: { host: 'h', connections: 'many' } })).toEqual([
      { path: 'email.connections', message: 'expected an integer, got a string "many"' },
    ]);
  });

  it('a zero timeout is refused', () => {
    expect(problemsOf({ http: { timeout: '0s' } })).toEqual([{ path: 'http.timeout', message: 'must be greater than 0' }]);
  });

  it('adapter must be embedded or postgres', () => {
    expect(problemsOf({ database: { adapter: 'mysql' } })).toEqual([
      { path: 'database.adapter', message: 'must be "embedded" or "postgres", got "mysql"' },
    ]);
  });

  it('adapter postgres without a url (and no DATABASE_URL)', () => {
    expect(problemsOf({ database: { adapter: 'postgres' } })).toEqual([
      {
        path: 'database.postgres.url',
        message: 'adapter "postgres" needs a url ([database.postgres] url, or DATABASE_URL in the environment)',
      },
    ]);
  });

  it('a database url that is not a postgres URL, without echoing it (it may carry a password)', () => {
    const err = configError(() => resolveRuntimeConfig({ database: { postgres: { url: 'mysql://root:topsecret@h/db' } } }, { env: noEnv }));
    expect(err.problems).toEqual([{ path: 'database.postgres.url', message: 'must be a postgres:// or postgresql:// URL' }]);
    expect(err.message).not.toContain('topsecret');
  });

  it('relation key not of the form Entity.rel', () => {
    expect(problemsOf({ relations: { Ticket: { inverse_key: 'x' }, 'Ticket.org.members': { inverse_key: 'y' } } })).toEqual([
      { path: 'relations.Ticket', message: 'key must be of the form "Entity.relation"' },
      { path: 'relations."Ticket.org.members"', message: 'key must be of the form "Entity.relation"' },
    ]);
  });

  it('through missing one of its keys', () => {
    expect(problemsOf({ relations: { 'Ticket.watchers': { through: { table: 'ticket_watchers', source_key: 'ticket_id' } } } })).toEqual([
      { path: 'relations."Ticket.watchers".through.target_key', message: 'required (through needs table, source_key and target_key)' },
    ]);
  });

  it('inverse_key and through together are contradictory', () => {
    const raw = { relations: { 'Org.members': { inverse_key: 'org_id', through: { table: 't', source_key: 's', target_key: 'u' } } } };
    expect(problemsOf(raw)).toEqual([
      { path: 'relations."Org.members"', message: expect.stringContaining('inverse_key and through are exclusive') },
    ]);
  });

  it('http.allow entries that are neither host names nor IPs/CIDRs', () => {
    const raw = { http: { allow: ['ok.internal', 'example.com:8080', '10.0.0.0/33', 'http://x', '10.0.0.256', '*.internal', 7] } };
    expect(problemsOf(raw)).toEqual([
      { path: 'http.allow[1]', message: '"example.com:8080" is neither a host name nor an IP address or CIDR' },
      { path: 'http.allow[2]', message: '"10.0.0.0/33" is neither a host name nor an IP address or CIDR' },
      { path: 'http.allow[3]', message: '"http://x" is neither a host name nor an IP address or CIDR' },
      { path: 'http.allow[4]', message: '"10.0.0.256" is neither a host name nor an IP address or CIDR' },
      { path: 'http.allow[5]', message: '"*.internal" is neither a host name nor an IP address or CIDR' },
      { path: 'http.allow[6]', message: 'expected a string, got an integer 7' },
    ]);
  });

  it('several missing env variables, in every section, all at once; values never in the message', () => {
    const raw = {
      email: { host: 'env:SMTP_HOST', password: 'env:SMTP_PASSWORD' },
      temporal: { api_key: 'env:TEMPORAL_API_KEY' },
      database: { postgres: { url: 'env:DATABASE_URL_PROD' } },
      jobs: { notify: { headers: { Authorization: 'env:HOOK_TOKEN' } } },
    };
    expect(problemsOf(raw)).toEqual([
      { path: 'database.postgres.url', message: 'environment variable DATABASE_URL_PROD is not set' },
      { path: 'email.host', message: 'environment variable SMTP_HOST is not set' },
      { path: 'email.password', message: 'environment variable SMTP_PASSWORD is not set' },
      { path: 'jobs.notify.headers.Authorization', message: 'environment variable HOOK_TOKEN is not set' },
      { path: 'temporal.api_key', message: 'environment variable TEMPORAL_API_KEY is not set' },
    ]);
  });

  it('a secret of the wrong type is described by its type only', () => {
    const err = configError(() =>
      resolveRuntimeConfig({ email: { host: 'h', password: 12345678 }, temporal: { api_key: true } }, { env: noEnv }),
    );
    expect(err.problems).toEqual([
      { path: 'email.password', message: 'expected a string, got an integer' },
      { path: 'temporal.api_key', message: 'expected a string, got a boolean' },
    ]);
    expect(err.message).not.toContain('12345678');
  });

  it('a bad value from an env variable names the variable, not the value', () => {
    const err = configError(() =>
      resolveRuntimeConfig(
        { email: { host: 'h', port: 'env:SMTP_PORT' }, jobs: { timeout: 'env:JOB_TIMEOUT' } },
        { env: { SMTP_PORT: 'p4ssw0rd', JOB_TIMEOUT: 'hunter2' } },
      ),
    );
    expect(err.problems).toEqual([
      { path: 'email.port', message: 'expected an integer, got a string from environment variable SMTP_PORT' },
      {
        path: 'jobs.timeout',
        message: 'invalid duration in environment variable JOB_TIMEOUT (use seconds, or a number with ms, s, m or h, e.g. "30s")',
      },
    ]);
    expect(err.message).not.toMatch(/p4ssw0rd|hunter2/);
  });

  it('[email] without a host', () => {
    expect(problemsOf({ email: { port: 25 } })).toEqual([{ path: 'email.host', message: 'required when [email] is present' }]);
  });

  it('a known section that is not a table', () => {
    expect(problemsOf({ jobs: 5, temporal: 'x' })).toEqual([
      { path: 'jobs', message: 'expected a table, got an integer' },
      { path: 'temporal', message: 'expected a table, got a string' },
    ]);
  });

  it('temporal tls: wrong type, and client_cert without client_key', () => {
    expect(problemsOf({ temporal: { tls: 'on' } })).toEqual([
      {
        path: 'temporal.tls',
        message: 'expected true, false or a table { client_cert, client_key, server_root_ca_cert, server_name }, got a string',
      },
    ]);
    expect(problemsOf({ temporal: { tls: { client_cert: 'c.pem' } } })).toEqual([
      { path: 'temporal.tls.client_key', message: 'client_cert and client_key must be given together' },
    ]);
  });

  it('job template fields of the wrong type', () => {
    expect(problemsOf({ jobs: { notify_agents: { subject: 42, headers: { 'X-Id': 1 } } } })).toEqual([
      { path: 'jobs.notify_agents.subject', message: 'expected a string, got an integer' },
      { path: 'jobs.notify_agents.headers.X-Id', message: 'expected a string, got an integer' },
    ]);
  });

  it('an environment override that is not a table, and a bad value brought in by an override', () => {
    expect(problemsOf({ environments: { development: 'oops' } })).toEqual([
      { path: 'environments.development', message: 'expected a table' },
    ]);
    expect(problemsOf({ jobs: { max_attempts: 3 }, environments: { development: { jobs: { max_attempts: 0 } } } })).toEqual([
      { path: 'jobs.max_attempts', message: 'must be an integer >= 1, got 0' },
    ]);
  });

  it('ConfigError from resolveRuntimeConfig on an object is labelled (inline), and the top level must be a table', () => {
    const err = configError(() => resolveRuntimeConfig([1, 2], { env: noEnv }));
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe('invalid runtime config (inline):\n  expected a table at the top level, got an array');
  });
});
