import { resolveRuntimeConfig } from '../../../src/config';
import type { Pool } from 'pg';
import type { Artifact } from '../../../src/artifact/types';
import type { RuntimeConfig } from '../../../src/config/types';
import { PermanentError } from '../../../src/errors';
import { createProviderRegistry, defaultProviders } from '../../../src/providers';
import type { Provider } from '../../../src/providers/types';

function fake(name: string, capabilities: string[], close?: () => Promise<void>): Provider {
  return { name, capabilities, execute: async (req) => ({ capability: req.capability }), close };
}

const artifact: Artifact = { entities: {}, jobs: {}, hooks: [], warnings: [] };
// The providers only touch the pool when they run; none runs an entity effect here.
const pool = {} as Pool;

function config(extra: Partial<RuntimeConfig> = {}): RuntimeConfig {
  return { ...resolveRuntimeConfig({ database: { adapter: 'postgres', url: 'postgres://x@127.0.0.1/x' } }, { env: {} }), ...extra };
}

test('routes each capability to its provider', () => {
  const a = fake('a', ['x.one', 'x.two']);
  const b = fake('b', ['y.one']);
  const registry = createProviderRegistry([a, b]);
  expect(registry.get('x.two')).toBe(a);
  expect(registry.get('y.one')).toBe(b);
  expect(registry.get('z')).toBeUndefined();
  expect(registry.capabilities()).toEqual(['x.one', 'x.two', 'y.one']);
});

test('a capability served twice is refused at construction', () => {
  expect(() => createProviderRegistry([fake('a', ['x.one']), fake('b', ['x.one'])])).toThrow(/x\.one.*a.*b/);
});

test('close closes every provider once, even when one fails', async () => {
  const closed: string[] = [];
  const registry = createProviderRegistry([
    fake('a', ['a'], async () => {
      closed.push('a');
      throw new Error('boom');
    }),
    fake('b', ['b'], async () => {
      closed.push('b');
    }),
    fake('c', ['c']),
  ]);
  await expect(registry.close()).rejects.toThrow('boom');
  await expect(registry.close()).rejects.toThrow('boom');
  expect(closed.sort()).toEqual(['a', 'b']);
});

test('defaultProviders serve every capability of the design', async () => {
  const registry = createProviderRegistry(
    defaultProviders({ config: config({ email: { host: '127.0.0.1', port: 2525, from: 'a@forge.test', tls: false } }), pool, artifact }),
  );
  expect(registry.capabilities()).toEqual(
    ['email.send', 'entity.create', 'http.call', 'http.delete', 'http.get', 'http.post', 'http.put'].sort(),
  );
  await registry.close();
});

test('without [email], email.send fails permanently, saying why', async () => {
  const registry = createProviderRegistry(defaultProviders({ config: config(), pool, artifact }));
  const email = registry.get('email.send')!;
  await expect(
    email.execute(
      { capability: 'email.send', to: 'a@example.com', subject: 's' },
      { idempotencyKey: 'k', job: 'j', workflowId: 'w', attempt: 1 },
    ),
  ).rejects.toThrow(new PermanentError('no [email] section in forge.runtime.toml'));
  await registry.close();
});
