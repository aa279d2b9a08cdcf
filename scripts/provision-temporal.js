#!/usr/bin/env node
/*
 * Pre-builds (or finds) the Temporal CLI and prints its path on stdout; progress goes to stderr.
 * CI runs it before the tests so no test waits four minutes for a build.
 *   node scripts/provision-temporal.js [--no-build] [--no-download]
 * Uses the compiled dist/ when present, otherwise compiles the TypeScript sources on the fly with
 * @swc/core (a dev dependency), so it works straight after `npm ci`.
 */
'use strict';
const path = require('node:path');
const fs = require('node:fs');

const root = path.join(__dirname, '..');
const compiled = path.join(root, 'dist', 'dev', 'temporal-cli.js');

function loadProvision() {
  if (fs.existsSync(compiled)) return require(compiled);
  const swc = require('@swc/core');
  require.extensions['.ts'] = (module, filename) => {
    const { code } = swc.transformFileSync(filename, {
      jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
      module: { type: 'commonjs' },
      sourceMaps: 'inline',
    });
    module._compile(code, filename);
  };
  return require(path.join(root, 'src', 'dev', 'temporal-cli.ts'));
}

loadProvision()
  .main(process.argv.slice(2))
  .then((code) => process.exit(code));
