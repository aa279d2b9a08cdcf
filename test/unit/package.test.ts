/** What `require('forge-jobs')` gives a user: the built package root (npm test builds first). */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

test('the built package root exports the public API', () => {
  if (!existsSync(join(ROOT, 'dist', 'index.js'))) throw new Error('dist/ is missing: run `npm run build` (npm test does)');
  const api = require(ROOT);
  for (const name of ['loadArtifact', 'loadRuntimeConfig', 'createJobClient', 'createJobWorker', 'startRelay', 'migrate']) {
    expect(typeof api[name]).toBe('function');
  }
  expect(() => api.loadArtifact({ entities: 5 })).toThrow(api.ArtifactError);
});

test('the bin runs the built CLI', () => {
  const pkg = require(join(ROOT, 'package.json'));
  expect(pkg.bin['forge-jobs']).toBe('bin/forge-jobs.js');
  expect(existsSync(join(ROOT, pkg.bin['forge-jobs']))).toBe(true);
});
