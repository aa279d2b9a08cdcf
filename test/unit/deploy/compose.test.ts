/**
 * docker-compose.yml can't be run here (no Docker engine), so it is checked: `docker-compose config -q`
 * (Debian's docker-compose) validates it, and its services, wiring and settings are compared with the
 * code and with the profile `npm run test:cluster` runs (test/support/temporal-cluster.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { loadRuntimeConfig } from '../../../src/config';
import { DEFAULT_NAMESPACE, DEFAULT_TASK_QUEUE, SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTE_TYPES } from '../../../src/names';
import { SERVER_TUNING } from '../../../src/dev/server-tuning';
import { WORKER_V8_FLAGS } from '../../../src/v8-flags';
import { CLUSTER_DYNAMIC_CONFIG, DEFAULT_RETENTION_SECONDS, TEMPORAL_DATABASES, TEMPORAL_SQL_PLUGIN } from '../../support/temporal-cluster';
import { TEMPORAL_SERVER_VERSION } from '../../support/temporal-server';

const ROOT = join(__dirname, '..', '..', '..');
const COMPOSE = join(ROOT, 'docker-compose.yml');

type Service = {
  image?: string;
  build?: unknown;
  command?: string | string[];
  entrypoint?: string | string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  volumes?: string[];
  ports?: string[];
  healthcheck?: unknown;
};

const compose = parse(readFileSync(COMPOSE, 'utf8'), { merge: true }) as { services: Record<string, Service> };
const services = compose.services;
const env = (name: string) => services[name]!.environment ?? {};
const version = TEMPORAL_SERVER_VERSION.replace(/^v/, '');

function dockerCompose(): string | undefined {
  const found = spawnSync('sh', ['-c', 'command -v docker-compose'], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

test('docker-compose config -q accepts the file', () => {
  const binary = dockerCompose();
  if (!binary) {
    throw new Error(
      "docker-compose is not installed: install Debian's (`apt-get install -y docker-compose`) to validate docker-compose.yml",
    );
  }
  // -q prints nothing and exits 0 when the file is valid; on error execFileSync throws with its stderr.
  execFileSync(binary, ['-f', COMPOSE, 'config', '-q'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, COMPOSE_INTERACTIVE_NO_CLI: '1' },
  });
});

test('it has the services of the production stack', () => {
  expect(Object.keys(services).sort()).toEqual(
    [
      'app-postgres',
      'codec-server',
      'forge-jobs-relay',
      'forge-jobs-worker',
      'mailpit',
      'temporal',
      'temporal-admin-tools',
      'temporal-postgresql',
      'temporal-setup',
      'temporal-ui',
    ].sort(),
  );
  expect(services.temporal!.image).toBe(`temporalio/server:${version}`);
  expect(services['temporal-admin-tools']!.image).toBe(`temporalio/admin-tools:${version}`);
  expect(services['temporal-setup']!.image).toBe(`temporalio/admin-tools:${version}`);
  expect(services['temporal-ui']!.image).toMatch(/^temporalio\/ui:/);
  expect(services.mailpit!.image).toMatch(/^axllent\/mailpit/);
  // the deprecated all-in-one image is not used
  expect(Object.values(services).some((s) => s.image?.startsWith('temporalio/auto-setup'))).toBe(false);
});

test('the start order: schema job, server, namespace job, then the forge-jobs processes', () => {
  const dependsOn = (name: string) =>
    Object.fromEntries(Object.entries(services[name]!.depends_on ?? {}).map(([k, v]) => [k, v.condition]));
  expect(dependsOn('temporal-admin-tools')).toEqual({ 'temporal-postgresql': 'service_healthy' });
  expect(dependsOn('temporal')).toEqual({ 'temporal-admin-tools': 'service_completed_successfully' });
  expect(dependsOn('temporal-setup')).toEqual({ temporal: 'service_healthy' });
  expect(dependsOn('temporal-ui')).toMatchObject({ temporal: 'service_healthy', 'codec-server': 'service_started' });
  for (const name of ['forge-jobs-worker', 'forge-jobs-relay']) {
    expect(dependsOn(name)).toEqual({
      'app-postgres': 'service_healthy',
      mailpit: 'service_started',
      temporal: 'service_healthy',
      'temporal-setup': 'service_completed_successfully',
    });
  }
  // every dependency names a service of the file, and the ones that must finish are one-shot jobs
  for (const [name, service] of Object.entries(services)) {
    for (const [dep, { condition }] of Object.entries(service.depends_on ?? {})) {
      expect([name, dep, dep in services]).toEqual([name, dep, true]);
      if (condition === 'service_healthy') expect([dep, services[dep]!.healthcheck !== undefined]).toEqual([dep, true]);
      if (condition === 'service_completed_successfully') expect(services[dep]!.entrypoint).toEqual(['/bin/sh']);
    }
  }
});

test('the schema job and the server use the profile of test:cluster (postgres12, temporal + temporal_visibility)', () => {
  for (const name of ['temporal-admin-tools', 'temporal']) {
    expect(env(name)).toMatchObject({
      DB: TEMPORAL_SQL_PLUGIN,
      DB_PORT: '5432',
      POSTGRES_SEEDS: 'temporal-postgresql',
      POSTGRES_USER: 'temporal',
    });
  }
  expect(env('temporal-admin-tools').TEMPORAL_DATABASES!.split(/\s+/)).toEqual([
    TEMPORAL_DATABASES.persistence,
    TEMPORAL_DATABASES.visibility,
  ]);
  const script = readFileSync(join(ROOT, 'deploy', 'temporal', 'scripts', 'setup-postgres.sh'), 'utf8');
  for (const step of ['create-database', 'setup-schema -v 0.0', 'update-schema -d']) expect(script).toContain(step);
  expect(script).toContain('--plugin postgres12');
  expect(script).toMatch(/schema\/postgresql\/v12/);
  expect(services['temporal-admin-tools']!.command).toBe('/scripts/setup-postgres.sh');
  expect(env('temporal').NUM_HISTORY_SHARDS).toBe('4');
  expect(services.temporal!.ports).toContain('127.0.0.1:7233:7233');
});

test('the dynamic config exists where the server is told to look, and agrees with the cluster profile', () => {
  const path = env('temporal').DYNAMIC_CONFIG_FILE_PATH!;
  const mount = services.temporal!.volumes!.find((v) => v.endsWith(':/etc/temporal/config/dynamicconfig:ro'))!;
  const hostDir = join(ROOT, mount.split(':')[0]!);
  const file = join(hostDir, path.replace(/^config\/dynamicconfig\//, ''));
  expect(existsSync(file)).toBe(true);
  const deployed = parse(readFileSync(file, 'utf8')) as Record<string, Array<{ value: unknown }>>;
  const profile = parse(CLUSTER_DYNAMIC_CONFIG) as Record<string, Array<{ value: unknown }>>;
  expect(deployed['limit.maxIDLength']).toEqual(profile['limit.maxIDLength']);
  expect(deployed['frontend.enableExecuteMultiOperation']).toEqual(profile['frontend.enableExecuteMultiOperation']);
  for (const [key, value] of Object.entries(SERVER_TUNING)) {
    expect([key, deployed[key]?.[0]?.value]).toEqual([key, value]);
    expect([key, profile[key]?.[0]?.value]).toEqual([key, value]);
  }
});

test('the setup job registers the namespace and exactly the search attributes of src/names.ts', () => {
  const setup = env('temporal-setup');
  const pairs = setup
    .FORGE_SEARCH_ATTRIBUTES!.trim()
    .split(/\s+/)
    .map((pair) => pair.split('='));
  expect(pairs.map(([name]) => name)).toEqual(SEARCH_ATTRIBUTES);
  expect(Object.fromEntries(pairs)).toEqual(SEARCH_ATTRIBUTE_TYPES);
  expect(setup.TEMPORAL_ADDRESS).toBe('temporal:7233');
  expect(setup.TEMPORAL_NAMESPACE).toBe(DEFAULT_NAMESPACE);
  expect(setup.NAMESPACE_RETENTION).toBe(`${DEFAULT_RETENTION_SECONDS / 86400}d`);
  const script = readFileSync(join(ROOT, 'deploy', 'temporal', 'scripts', 'setup-namespace.sh'), 'utf8');
  expect(script).toContain('temporal operator namespace create');
  expect(script).toContain('temporal operator search-attribute create');
  expect(services['temporal-setup']!.command).toBe('/scripts/setup-namespace.sh');
});

test('the Web UI reaches the server and the codec server', () => {
  const ui = env('temporal-ui');
  expect(ui.TEMPORAL_ADDRESS).toBe('temporal:7233');
  const codecPort = services['codec-server']!.ports!.map((p) => p.split(':'));
  expect(codecPort).toEqual([['127.0.0.1', '8888', '8888']]);
  expect(ui.TEMPORAL_CODEC_ENDPOINT).toBe('http://localhost:8888');
  const command = services['codec-server']!.command as string[];
  expect(command.slice(0, 1)).toEqual(['codec-server']);
  expect(command).toEqual(expect.arrayContaining(['--port', '8888', '--host', '0.0.0.0']));
  // the codec server must accept the UI's origin
  expect(command[command.indexOf('--cors-origin') + 1]).toBe(ui.TEMPORAL_CORS_ORIGINS);
});

test('worker and relay: built from the Dockerfile, production environment, one task queue, the mounted config', () => {
  expect(existsSync(join(ROOT, 'Dockerfile'))).toBe(true);
  expect((services['forge-jobs-worker']!.command as string[])[0]).toBe('worker');
  expect((services['forge-jobs-relay']!.command as string[])[0]).toBe('relay');
  // the relay runs once, in its own service
  expect(services['forge-jobs-worker']!.command).toContain('--no-relay');
  for (const name of ['forge-jobs-worker', 'forge-jobs-relay']) {
    const service = services[name]!;
    expect(service.build).toBe('.');
    const e = env(name);
    expect(e.FORGE_ENV).toBe('production');
    expect(e.TEMPORAL_ADDRESS).toBe('temporal:7233');
    expect(e.TEMPORAL_NAMESPACE).toBe(DEFAULT_NAMESPACE);
    expect(e.DATABASE_URL).toMatch(/^postgres:\/\/helpdesk:.*@app-postgres:5432\/helpdesk$/);
    expect(e.SMTP_HOST).toContain('mailpit');
    const mount = service.volumes!.find((v) => v.endsWith(`:${e.FORGE_RUNTIME_CONFIG}:ro`))!;
    expect(mount).toBe(`./deploy/forge.runtime.toml:${e.FORGE_RUNTIME_CONFIG}:ro`);
    expect(e.FORGE_ARTIFACT).toBe('/app/examples/helpdesk-relations/artifact.json');
  }
  const app = env('app-postgres');
  expect(`postgres://${app.POSTGRES_USER}:${app.POSTGRES_PASSWORD}@app-postgres:5432/${app.POSTGRES_DB}`).toBe(
    env('forge-jobs-worker').DATABASE_URL,
  );
});

test('deploy/forge.runtime.toml resolves in production with the environment compose gives it', () => {
  const worker = env('forge-jobs-worker');
  // ${VAR:-default} as compose substitutes it when VAR is unset
  const substituted = Object.fromEntries(Object.entries(worker).map(([k, v]) => [k, String(v).replace(/\$\{[A-Z_]+:-([^}]*)\}/g, '$1')]));
  const config = loadRuntimeConfig(join(ROOT, 'deploy', 'forge.runtime.toml'), { environment: substituted.FORGE_ENV, env: substituted });
  expect(config.environment).toBe('production');
  expect(config.database).toEqual({ adapter: 'postgres', url: substituted.DATABASE_URL });
  expect(config.temporal).toMatchObject({ address: worker.TEMPORAL_ADDRESS, namespace: DEFAULT_NAMESPACE });
  expect(config.jobs.taskQueue).toBe(DEFAULT_TASK_QUEUE);
  expect(config.email).toMatchObject({ host: 'mailpit', port: 1025 });
});

test("the image runs forge-jobs with the worker's V8 flags and glibc's arenas held to 2", () => {
  const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
  const entrypoint = /^ENTRYPOINT (.+)$/m.exec(dockerfile)?.[1];
  expect(entrypoint && JSON.parse(entrypoint)).toEqual(['node', ...WORKER_V8_FLAGS, 'bin/forge-jobs.js']);
  expect(dockerfile).toMatch(/^ENV MALLOC_ARENA_MAX=2$/m);
});
