/**
 * Loads bench/*.ts (and src) through the same swc transform jest uses: `node -r ./bench/register.js bench/run.ts`.
 * Node 20 has no TypeScript of its own, and the bench must measure the source as it is now, not a stale dist/.
 */
const { transformSync } = require('@swc/core');
const { readFileSync } = require('node:fs');

require.extensions['.ts'] = (module, filename) =>
  module._compile(
    transformSync(readFileSync(filename, 'utf8'), {
      filename,
      module: { type: 'commonjs' },
      jsc: { target: 'es2022', parser: { syntax: 'typescript' } },
    }).code,
    filename,
  );

// A courier started by a process running src/ from here loads its child.ts through this same hook.
process.env.FORGE_JOBS_TS_REGISTER ??= __filename;
