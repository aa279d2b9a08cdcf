/** What `require('forge-jobs')` and `require('forge-jobs/admin')` give a user: the built package (npm test builds first). */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** The runtime exports of `forge-jobs`: what apps and workers use. Types are not listed (they have no runtime). */
const PUBLIC_API = [
  'ArtifactError',
  'ConfigError',
  'PermanentError',
  'RecordTooLargeError',
  'SandboxViolation',
  'StartDeadlineError',
  'TransientError',
  'WORKFLOWS_PATH',
  'createJobClient',
  'createJobInspector',
  'createJobWorker',
  'dataConverterFromEnv',
  'loadArtifact',
  'loadRuntimeConfig',
  'resolveRuntimeConfig',
];

/** The exports of both entry points as a separate node process resolves them by package name (the exports map). */
let resolved: { api: string[]; admin: string[] } | undefined;
function exportsByName(): { api: string[]; admin: string[] } {
  if (resolved) return resolved;
  const script =
    "const a = require('forge-jobs'); const b = require('forge-jobs/admin'); process.stdout.write(JSON.stringify({ api: Object.keys(a).sort(), admin: Object.keys(b).sort() }))";
  resolved = JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8' })) as {
    api: string[];
    admin: string[];
  };
  return resolved;
}

beforeAll(() => {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
});

test('forge-jobs exports exactly the runtime API for apps and workers', () => {
  expect(exportsByName().api).toEqual([...PUBLIC_API].sort());
  const api = require(ROOT);
  expect(() => api.loadArtifact({ entities: 5 })).toThrow(api.ArtifactError);
});

test('forge-jobs/admin exports the operating verbs and the dev stack', () => {
  const { admin } = exportsByName();
  for (const name of [
    'migrate',
    'startRelay',
    'createJobStarter',
    'ensureSearchAttributes',
    'registerNamespace',
    'explainNeeds',
    'replayFromServer',
    'installCapture',
    'runBackfill',
    'pruneCompleted',
    'startCodecServer',
    'startDevStack',
    'embeddedDatabase',
    'writeOutboxEvent',
  ]) {
    expect(admin).toContain(name);
  }
  // the app's API is not repeated in admin
  expect(admin).not.toContain('createJobClient');
});

test('the package exports map names both entry points with their types', () => {
  const pkg = require(join(ROOT, 'package.json'));
  expect(Object.keys(pkg.exports).sort()).toEqual(['.', './admin', './package.json']);
  for (const entry of ['.', './admin']) {
    expect(existsSync(join(ROOT, pkg.exports[entry].default))).toBe(true);
    expect(existsSync(join(ROOT, pkg.exports[entry].types))).toBe(true);
  }
});

test('the bin runs the built CLI', () => {
  const pkg = require(join(ROOT, 'package.json'));
  expect(pkg.bin['forge-jobs']).toBe('bin/forge-jobs.js');
  expect(existsSync(join(ROOT, pkg.bin['forge-jobs']))).toBe(true);
});
