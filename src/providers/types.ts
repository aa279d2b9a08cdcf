import type { EffectContext, EffectRequest, EffectResult } from '../effects/types';

/** A provider serves some capabilities. Adding one is a new file in src/providers and a line in registry.ts. */
export interface Provider {
  name: string;
  capabilities: readonly string[];
  /** Throws PermanentError or TransientError (src/errors.ts); anything else counts as transient. */
  execute(request: EffectRequest, ctx: EffectContext): Promise<EffectResult>;
  /**
   * The provider writes the sent-ledger row of a confirmed send itself (the courier does, in the process
   * that outlives the worker), so the activity must not; otherwise the activity writes it after execute.
   */
  recordsSent?: boolean;
  close?(): Promise<void>;
}
