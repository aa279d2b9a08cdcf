/**
 * The messages between a worker and its courier (./child.ts), over the IPC channel of child_process.fork with
 * `serialization: 'advanced'` (structured clone, so a Uint8Array request body arrives as bytes).
 *
 * One round trip per send: `send` → (`lookup` ↔ `lookup-result` while the HTTP guard resolves a name, when
 * the worker was given a DNS stub) → `result` or `error`, written only after the sent-ledger row.
 */
import type { EmailConfig, HttpConfig } from '../config/types';
import type { EffectContext, EffectRequest, EffectResult } from '../effects/types';
import type { LogLevel } from '../log';
import type { ResolvedAddress } from '../providers/ssrf';
import type { WireError } from './wire-error';

/** Connection settings of the courier's own small pool for the sent-ledger; the worker's, minus what cannot cross a process. */
export interface LedgerDatabase {
  connectionString?: string;
  host?: string;
  port?: number;
  user?: string;
  password?: string;
  database?: string;
  ssl?: unknown;
  options?: string;
  application_name?: string;
  connectionTimeoutMillis?: number;
}

export type ToCourier =
  | {
      type: 'init';
      /** absent: no [email] section, and email stays with the worker's unconfigured provider */
      email?: EmailConfig;
      http: HttpConfig;
      database: LedgerDatabase;
      /** the worker was given a DNS stub: the HTTP guard asks the worker for every lookup */
      lookupFromParent: boolean;
    }
  | { type: 'send'; id: number; capability: string; request: EffectRequest; ctx: EffectContext; deadline: number }
  | { type: 'lookup-result'; id: number; addresses?: ResolvedAddress[]; error?: WireError }
  /** the worker is shutting down: finish what is in flight, then exit */
  | { type: 'close' };

export type FromCourier =
  | { type: 'ready'; pid: number }
  | { type: 'result'; id: number; result: EffectResult }
  | { type: 'error'; id: number; error: WireError }
  | { type: 'lookup'; id: number; hostname: string }
  | { type: 'log'; level: LogLevel; event: string; fields: Record<string, unknown> };
