/**
 * Two projects: unit tests need nothing running; integration tests share one Temporal dev server and
 * one Postgres for the whole run, started by test/setup/global-setup.ts only when an integration test runs.
 */
const transform = { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022' } }] };
const setupFiles = ['<rootDir>/test/support/ts-register-env.ts'];
module.exports = {
  maxWorkers: 2,
  testTimeout: 60000,
  projects: [
    {
      displayName: 'unit',
      testEnvironment: 'node',
      testTimeout: 30000,
      roots: ['<rootDir>/test/unit'],
      testMatch: ['**/*.test.ts'],
      transform,
      setupFiles,
    },
    {
      displayName: 'integration',
      testTimeout: 120000,
      testEnvironment: 'node',
      roots: ['<rootDir>/test/integration'],
      testMatch: ['**/*.test.ts'],
      transform,
      setupFiles,
      globalSetup: '<rootDir>/test/setup/global-setup.ts',
      globalTeardown: '<rootDir>/test/setup/global-teardown.ts',
    },
  ],
};
