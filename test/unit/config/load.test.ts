import { join, resolve } from 'node:path';
import { defaultRuntimeConfig, loadRuntimeConfig, resolveRuntimeConfig } from '../../../src/config';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE, DEFAULT_TEMPORAL_ADDRESS } from '../../../src/names';
import { writeConfig } from '../../support/configs';

const FIXTURES = resolve(__dirname, '../../fixtures/config');
const noEnv = {} as NodeJS.ProcessEnv;

describe('runtime config: good files', () => {
  it('defaults: an empty document gives a complete config', () => {
    expect(resolveRuntimeConfig({}, { env: noEnv })).toEqual({
      environment: 'development',
      database: { adapter: 'embedded' },
      jobs: {
        concurrency: 10,
        timeoutMs: 30_000,
        maxAttempts: 5,
        taskQueue: DEFAULT_TASK_QUEUE,
        completedRetentionMs: 7 * 24 * 3600_000,
        templates: {},
        rates: {},
      },
      temporal: { address: DEFAULT_TEMPORAL_ADDRESS, namespace: DEFAULT_NAMESPACE },
      http: { allow: [], timeoutMs: 10_000 },
      relations: {},
    });
  });

  it('defaultRuntimeConfig() is resolveRuntimeConfig({})', () => {
    expect(defaultRuntimeConfig()).toEqual(resolveRuntimeConfig({}));
  });

  it('loads an empty file and records its directory', () => {
    const file = writeConfig('');
    const config = loadRuntimeConfig(file, { env: noEnv });
    expect(config.baseDir).toBe(resolve(file, '..'));
    expect(config.email).toBeUndefined();
  });

  it('resolves env: references, including in arrays and nested template tables', () => {
    const file = writeConfig(`
[email]
host = "env:SMTP_HOST"
port = "env:SMTP_PORT"
password = "env:SMTP_PASSWORD"
[http]
allow = ["env:INTERNAL_HOST"]
[jobs.ping]
headers = { Authorization = "env:HOOK_TOKEN" }
`);
    const env = {
      SMTP_HOST: 'mail.local',
      SMTP_PORT: '2525',
      SMTP_PASSWORD: 's3cret',
      INTERNAL_HOST: 'hooks.internal',
      HOOK_TOKEN: 'Bearer t',
    };
    const config = loadRuntimeConfig(file, { env });
    expect(config.email).toEqual({ host: 'mail.local', port: 2525, password: 's3cret', from: 'forge-jobs@localhost', tls: false });
    expect(config.http.allow).toEqual(['hooks.internal']);
    expect(config.jobs.templates.ping.headers).toEqual({ Authorization: 'Bearer t' });
  });

  it('leaves strings that merely start with env: alone', () => {
    const config = resolveRuntimeConfig({ jobs: { greet: { text: 'env: production', subject: 'env:not a name' } } }, { env: noEnv });
    expect(config.jobs.templates.greet).toEqual({ text: 'env: production', subject: 'env:not a name' });
  });

  it('[environments.production] overrides a nested key and keeps its siblings', () => {
    const raw = {
      email: { host: 'smtp.example.com', user: 'u', tls: false },
      temporal: { tls: { client_cert: '/c.pem', client_key: '/c.key' } },
      environments: { production: { email: { tls: true }, temporal: { tls: { server_name: 'prod.tmprl' } } } },
    };
    const config = resolveRuntimeConfig(raw, { environment: 'production', env: noEnv });
    expect(config.environment).toBe('production');
    expect(config.email).toMatchObject({ host: 'smtp.example.com', user: 'u', tls: true, port: 465 });
    expect(config.temporal.tls).toEqual({ clientCertPath: '/c.pem', clientKeyPath: '/c.key', serverNameOverride: 'prod.tmprl' });
    // development is untouched by production's table
    expect(resolveRuntimeConfig(raw, { env: noEnv }).email).toMatchObject({ tls: false, port: 587 });
  });

  it('FORGE_ENV picks the environment; options.environment wins over it', () => {
    const raw = {
      jobs: { concurrency: 2 },
      environments: { staging: { jobs: { concurrency: 7 } }, production: { jobs: { concurrency: 50 } } },
    };
    expect(resolveRuntimeConfig(raw, { env: { FORGE_ENV: 'staging' } })).toMatchObject({
      environment: 'staging',
      jobs: { concurrency: 7 },
    });
    expect(resolveRuntimeConfig(raw, { env: { FORGE_ENV: 'staging' }, environment: 'production' }).jobs.concurrency).toBe(50);
    expect(resolveRuntimeConfig(raw, { env: noEnv }).jobs.concurrency).toBe(2);
  });

  it('an env: variable replaced by the environment override need not exist', () => {
    const raw = {
      email: { host: 'smtp', password: 'env:PROD_SMTP_PASSWORD' },
      environments: { development: { email: { password: 'dev' } } },
    };
    expect(resolveRuntimeConfig(raw, { env: noEnv }).email?.password).toBe('dev');
  });

  it('reads relation overrides, with inverse_key, foreign_key and through', () => {
    const file = writeConfig(`
[relations."Organization.members"]
inverse_key = "org_id"
[relations."Ticket.assignee"]
foreign_key = "assigned_to"
[relations."Ticket.watchers"]
through = { table = "ticket_watchers", source_key = "ticket_id", target_key = "user_id" }
`);
    expect(loadRuntimeConfig(file, { env: noEnv }).relations).toEqual({
      'Organization.members': { inverse_key: 'org_id' },
      'Ticket.assignee': { foreign_key: 'assigned_to' },
      'Ticket.watchers': { through: { table: 'ticket_watchers', source_key: 'ticket_id', target_key: 'user_id' } },
    });
  });

  it('every sub-table of [jobs] is a job template, keys kept as given', () => {
    const file = writeConfig(`
[jobs]
concurrency = 3
[jobs.notify_agents]
subject = "New ticket {{trigger.subject}}"
text = "Hi {{target.name}}"
priority_hint = 2
[jobs.call_hook]
url = "https://example.com/hook"
method = "POST"
body = { id = "{{trigger.id}}" }
`);
    const { jobs } = loadRuntimeConfig(file, { env: noEnv });
    expect(jobs.concurrency).toBe(3);
    expect(jobs.templates).toEqual({
      notify_agents: { subject: 'New ticket {{trigger.subject}}', text: 'Hi {{target.name}}', priority_hint: 2 },
      call_hook: { url: 'https://example.com/hook', method: 'POST', body: { id: '{{trigger.id}}' } },
    });
  });

  it.each([
    ['45', 45_000],
    ['"500ms"', 500],
    ['"2m"', 120_000],
    ['1.5', 1500],
  ])('jobs.timeout = %s → %d ms; http.timeout likewise', (toml, ms) => {
    const config = loadRuntimeConfig(writeConfig(`[jobs]\ntimeout = ${toml}\n[http]\ntimeout = ${toml}\n`), { env: noEnv });
    expect(config.jobs.timeoutMs).toBe(ms);
    expect(config.http.timeoutMs).toBe(ms);
  });

  it('temporal tls table maps to camelCase, relative paths against the file, and api_key', () => {
    const file = writeConfig(`
[temporal]
address = "ns.acct.tmprl.cloud:7233"
namespace = "ns.acct"
api_key = "env:TEMPORAL_API_KEY"
[temporal.tls]
client_cert = "certs/client.pem"
client_key = "/etc/forge/client.key"
server_root_ca_cert = "../ca.pem"
server_name = "ns.acct.tmprl.cloud"
`);
    const dir = resolve(file, '..');
    expect(loadRuntimeConfig(file, { env: { TEMPORAL_API_KEY: 'key-123' } }).temporal).toEqual({
      address: 'ns.acct.tmprl.cloud:7233',
      namespace: 'ns.acct',
      apiKey: 'key-123',
      tls: {
        clientCertPath: join(dir, 'certs/client.pem'),
        clientKeyPath: '/etc/forge/client.key',
        serverRootCaCertPath: resolve(dir, '../ca.pem'),
        serverNameOverride: 'ns.acct.tmprl.cloud',
      },
    });
  });

  it('temporal tls = true, and tls = false is the same as absent', () => {
    expect(resolveRuntimeConfig({ temporal: { tls: true } }, { env: noEnv }).temporal.tls).toBe(true);
    expect(resolveRuntimeConfig({ temporal: { tls: false } }, { env: noEnv }).temporal).not.toHaveProperty('tls');
  });

  it('DATABASE_URL selects postgres when the file configures no database', () => {
    const url = 'postgres://app:pw@db:5432/helpdesk';
    expect(resolveRuntimeConfig({}, { env: { DATABASE_URL: url } }).database).toEqual({ adapter: 'postgres', url });
    expect(resolveRuntimeConfig({ database: { adapter: 'postgres' } }, { env: { DATABASE_URL: url } }).database).toEqual({
      adapter: 'postgres',
      url,
    });
    // an explicit adapter wins over the environment
    expect(resolveRuntimeConfig({ database: { adapter: 'embedded' } }, { env: { DATABASE_URL: url } }).database).toEqual({
      adapter: 'embedded',
    });
  });

  it('reads the url from [database.postgres] or [database] url', () => {
    const a = resolveRuntimeConfig({ database: { adapter: 'postgres', postgres: { url: 'postgresql://h/db' } } }, { env: noEnv });
    const b = resolveRuntimeConfig({ database: { url: 'postgres://h/db2' } }, { env: noEnv });
    expect(a.database).toEqual({ adapter: 'postgres', url: 'postgresql://h/db' });
    expect(b.database).toEqual({ adapter: 'postgres', url: 'postgres://h/db2' });
  });

  it('an embedded adapter never reads the url, so its env: variable need not exist', () => {
    const raw = { database: { adapter: 'embedded', postgres: { url: 'env:PROD_DATABASE_URL' } } };
    expect(resolveRuntimeConfig(raw, { env: noEnv }).database).toEqual({ adapter: 'embedded' });
  });

  it('ignores unknown sections and unknown keys, even with unset env: references', () => {
    const file = writeConfig(`
[server]
port = "not ours to check"
[auth]
jwt_secret = "env:JWT_SECRET"
[jobs]
concurrency = 2
some_future_key = "env:NOT_SET"
[email]
host = "smtp"
provider = "ses"
`);
    const config = loadRuntimeConfig(file, { env: noEnv });
    expect(config.jobs.concurrency).toBe(2);
    expect(config.email).toEqual({ host: 'smtp', port: 587, from: 'forge-jobs@localhost', tls: false });
    expect(config).not.toHaveProperty('server');
  });

  it('http.allow accepts host names, IPs and CIDRs, and a comma-separated env: list', () => {
    const config = resolveRuntimeConfig(
      { http: { allow: ['Hooks.Internal', 'localhost', '10.0.0.0/8', '127.0.0.1', 'fd00::/8', '::1'] } },
      { env: noEnv },
    );
    expect(config.http.allow).toEqual(['hooks.internal', 'localhost', '10.0.0.0/8', '127.0.0.1', 'fd00::/8', '::1']);
    const fromEnv = resolveRuntimeConfig(
      { http: { allow: 'env:FORGE_HTTP_ALLOW' } },
      { env: { FORGE_HTTP_ALLOW: 'a.internal, 192.168.0.0/16' } },
    );
    expect(fromEnv.http.allow).toEqual(['a.internal', '192.168.0.0/16']);
  });

  it('email port defaults to 465 with tls, and an explicit port wins', () => {
    expect(resolveRuntimeConfig({ email: { host: 'h', tls: true } }, { env: noEnv }).email?.port).toBe(465);
    expect(resolveRuntimeConfig({ email: { host: 'h', tls: true, port: 2465 } }, { env: noEnv }).email?.port).toBe(2465);
  });

  it('[email] connections sizes the SMTP pool; absent, the provider decides', () => {
    expect(resolveRuntimeConfig({ email: { host: 'h', connections: 20 } }, { env: noEnv }).email?.connections).toBe(20);
    expect(resolveRuntimeConfig({ email: { host: 'h' } }, { env: noEnv }).email).not.toHaveProperty('connections');
  });

  describe('a realistic Forge runtime file with many unrelated sections', () => {
    const file = join(FIXTURES, 'full.forge.runtime.toml');
    const env = { SMTP_PASSWORD: 'smtp-pw', HOOK_TOKEN: 'Bearer abc', DATABASE_URL: 'postgres://forge@db/helpdesk' };

    it('development: embedded database and the local dev server', () => {
      const config = loadRuntimeConfig(file, { env });
      expect(config).toEqual({
        environment: 'development',
        baseDir: FIXTURES,
        database: { adapter: 'embedded' },
        email: {
          host: 'smtp.example.com',
          port: 2525,
          user: 'helpdesk',
          password: 'smtp-pw',
          from: 'Helpdesk <support@example.com>',
          tls: false,
        },
        jobs: {
          concurrency: 4,
          timeoutMs: 45_000,
          maxAttempts: 3,
          taskQueue: 'helpdesk-jobs',
          completedRetentionMs: 7 * 24 * 3600_000,
          rates: {},
          templates: {
            notify_agents: {
              subject: 'New ticket: {{trigger.subject}}',
              text: 'Hello {{target.name}}, ticket {{trigger.id}} was {{operation}}d.',
            },
            ping_webhook: {
              url: 'https://hooks.example.com/tickets',
              method: 'POST',
              headers: { Authorization: 'Bearer abc', 'X-Source': 'forge' },
              body: { ticket: '{{trigger.id}}', tags: ['a', 'b'] },
            },
          },
        },
        temporal: { address: '127.0.0.1:7233', namespace: 'default' },
        http: { allow: ['hooks.internal', '10.0.0.0/8', '::1'], timeoutMs: 5000 },
        relations: {
          'Organization.members': { inverse_key: 'org_id' },
          'Ticket.watchers': { through: { table: 'ticket_watchers', source_key: 'ticket_id', target_key: 'user_id' } },
        },
      });
    });

    it('production (FORGE_ENV): postgres, Temporal Cloud with mTLS, smtps', () => {
      const config = loadRuntimeConfig(file, { env: { ...env, FORGE_ENV: 'production' } });
      expect(config.environment).toBe('production');
      expect(config.database).toEqual({ adapter: 'postgres', url: 'postgres://forge@db/helpdesk' });
      expect(config.jobs.concurrency).toBe(32);
      expect(config.email).toMatchObject({ port: 465, tls: true, host: 'smtp.example.com' });
      expect(config.temporal).toEqual({
        address: 'helpdesk.a1b2c.tmprl.cloud:7233',
        namespace: 'helpdesk.a1b2c',
        tls: { clientCertPath: join(FIXTURES, 'certs/client.pem'), clientKeyPath: join(FIXTURES, 'certs/client.key') },
      });
    });
  });
});
