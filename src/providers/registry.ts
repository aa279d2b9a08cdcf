/**
 * Routes a capability to the provider that serves it. A new provider is one file in this folder and
 * one line in defaultProviders.
 */
import type { Pool } from 'pg';
import type { Artifact } from '../artifact/types';
import type { RuntimeConfig } from '../config/types';
import type { Logger } from '../log';
import type { Courier } from '../courier';
import { DEFAULT_BREAKER, withBreaker, type BreakerOptions } from './breaker';
import { createEmailProvider, createUnconfiguredEmailProvider } from './email';
import { createEntityProvider } from './entity';
import { createHttpProvider } from './http';
import type { LookupFn } from './ssrf';
import type { Provider } from './types';

export interface ProviderRegistry {
  get(capability: string): Provider | undefined;
  capabilities(): string[];
  /** Closes every provider (pooled connections); safe to call more than once. */
  close(): Promise<void>;
}

export function createProviderRegistry(providers: Provider[]): ProviderRegistry {
  const byCapability = new Map<string, Provider>();
  for (const provider of providers) {
    for (const capability of provider.capabilities) {
      const taken = byCapability.get(capability);
      // Two servers for one capability would make routing depend on list order: refuse it.
      if (taken) throw new Error(`capability ${capability} is served by both provider ${taken.name} and provider ${provider.name}`);
      byCapability.set(capability, provider);
    }
  }
  let closing: Promise<void> | undefined;
  return {
    get: (capability) => byCapability.get(capability),
    capabilities: () => [...byCapability.keys()].sort(),
    close() {
      closing ??= Promise.allSettled(providers.map(async (p) => p.close?.())).then((outcomes) => {
        const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
        if (failed) throw failed.reason;
      });
      return closing;
    },
  };
}

export interface DefaultProviderDeps {
  config: RuntimeConfig;
  pool: Pool;
  artifact: Artifact;
  /** DNS lookup for the HTTP address guard; tests stub it */
  lookup?: LookupFn;
  /** when given, email and HTTP are sent by this courier process (src/courier) instead of in this process */
  courier?: Pick<Courier, 'provider'>;
  /** where the email breaker says it opened and closed */
  logger?: Logger;
}

export function defaultProviders({ config, pool, artifact, lookup, courier, logger }: DefaultProviderDeps): Provider[] {
  const onChange: BreakerOptions['onChange'] = (change) =>
    change.open
      ? logger?.warn('provider.failing', { capability: 'email.send', failures: change.failures, last_error: change.lastFailure })
      : logger?.info('provider.recovered', { capability: 'email.send' });
  return [
    // One SMTP relay serves every target: while it defers everything, targets fail without asking it (./breaker).
    config.email
      ? withBreaker(courier?.provider('email') ?? createEmailProvider(config.email), { ...DEFAULT_BREAKER, onChange })
      : createUnconfiguredEmailProvider(),
    courier?.provider('http') ?? createHttpProvider(config.http, { lookup }),
    createEntityProvider({ pool, artifact }),
  ];
}
