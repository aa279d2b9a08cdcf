// Lint for the product and its tests: promises are awaited or handed on, workflow code stays deterministic
// (no Node built-ins, no I/O libraries), and product code never imports the dev tooling.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/** What product code (everything in src/ but the tooling in src/dev and the CLI) may not import. */
const TOOLING = {
  group: ['**/dev', '**/dev/*', '**/test/**', '**/bench/**'],
  message: 'product code never imports dev or test tooling (src/dev, test/, bench/)',
};

const NODE_BUILTINS = [
  'node:*',
  'fs',
  'path',
  'os',
  'crypto',
  'child_process',
  'net',
  'http',
  'https',
  'events',
  'stream',
  'util',
  'zlib',
  'dns',
  'tls',
];

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      '.forge-jobs/**',
      'coverage/**',
      'test-artifacts/**',
      'bench/**/*.js',
      'bin/**',
      'test/histories/**',
      'test/faults/app.js',
      'test/support/connect-trap.js',
      'eslint.config.mjs',
      '*.config.js',
      'scripts/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_', destructuredArrayIgnorePattern: '^_', caughtErrors: 'none' },
      ],
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-require-imports': 'off',
      'no-empty': ['error', { allowEmptyCatch: false }],
    },
  },
  {
    files: ['src/workflows/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: NODE_BUILTINS, message: 'workflow code runs in the deterministic sandbox: no Node built-ins' },
            { group: ['pg', 'nodemailer', 'undici', 'smtp-server'], message: 'workflow code does no I/O: call an activity' },
            { group: ['../activities', '../activities/*'], allowTypeImports: true, message: 'workflows import activities by type only' },
            TOOLING,
          ],
        },
      ],
    },
  },
  {
    // The product never imports the tooling (src/dev), the tests or the bench; the tooling may import the product.
    // src/admin.ts is the entry point that offers the dev stack beside the operating verbs.
    files: ['src/**/*.ts'],
    ignores: ['src/dev/**', 'src/cli/**', 'src/workflows/**', 'src/admin.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [TOOLING] }],
    },
  },
  {
    // The CLI lives on the two entry points: forge-jobs (../index) and forge-jobs/admin (../admin).
    files: ['src/cli/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['../*', '!../index', '!../admin', '../../**'],
              message: 'src/cli imports the product only through ../index and ../admin',
            },
          ],
        },
      ],
    },
  },
);
