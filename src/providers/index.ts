export type { Provider } from './types';
export { createProviderRegistry, defaultProviders, type DefaultProviderDeps, type ProviderRegistry } from './registry';
export { createEmailProvider, createUnconfiguredEmailProvider, messageIdFor } from './email';
export { createHttpProvider, parseRetryAfter, HttpStatusError, HttpTransientStatusError, type HttpProviderOptions } from './http';
export { createEntityProvider, ensureLedger, type EntityProviderDeps } from './entity';
export { classifyAddress, isAllowed, SsrfRefusedError, type LookupFn, type ResolvedAddress } from './ssrf';
