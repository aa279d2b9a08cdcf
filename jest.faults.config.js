/**
 * `npm run test:faults`: fault injection on real processes (test/faults). Each file starts its own Temporal
 * dev server on a file database, embedded Postgres behind a proxy, SMTP and HTTP sinks, and workers as
 * child processes of the built CLI; the teardown prints the table of rounds, faults and losses.
 */
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const setupFiles = ['<rootDir>/test/support/ts-register-env.ts'];
module.exports = {
  displayName: 'faults',
  testEnvironment: 'node',
  roots: ['<rootDir>/test/faults'],
  testMatch: ['**/*.test.ts'],
  transform,
  setupFiles,
  testTimeout: 300000,
  maxWorkers: 1,
  globalSetup: '<rootDir>/test/faults/global-setup.ts',
  globalTeardown: '<rootDir>/test/faults/global-teardown.ts',
};
