/** Connection options from [temporal]: address, namespace, mTLS or an API key (Temporal Cloud). */
import { readFileSync } from 'node:fs';
import type { TemporalConfig } from '../config/types';

export function connectionOptions(t: TemporalConfig) {
  const tls =
    t.tls === true
      ? true
      : t.tls && typeof t.tls === 'object'
        ? {
            serverNameOverride: t.tls.serverNameOverride,
            serverRootCACertificate: t.tls.serverRootCaCertPath ? readFileSync(t.tls.serverRootCaCertPath) : undefined,
            clientCertPair:
              t.tls.clientCertPath && t.tls.clientKeyPath
                ? { crt: readFileSync(t.tls.clientCertPath), key: readFileSync(t.tls.clientKeyPath) }
                : undefined,
          }
        : undefined;
  return { address: t.address, tls: tls ?? (t.apiKey ? true : undefined), apiKey: t.apiKey };
}
