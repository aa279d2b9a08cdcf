/**
 * `npm run test:cluster`: the production profile (Temporal's own server on PostgreSQL, worker processes)
 * under failure. Apart from `npm test` because it takes minutes and needs the server build (cached).
 */
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const setupFiles = ['<rootDir>/test/support/ts-register-env.ts'];
module.exports = {
  displayName: 'cluster',
  testEnvironment: 'node',
  roots: ['<rootDir>/test/cluster'],
  testMatch: ['**/*.test.ts'],
  transform,
  setupFiles,
  globalSetup: '<rootDir>/test/cluster/global-setup.ts',
  maxWorkers: 1,
  testTimeout: 360000,
};
