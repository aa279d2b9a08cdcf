/**
 * entity.create: inserts one row of an artifact entity, at most once per idempotency key.
 *
 * The ledger row and the entity row commit in one transaction, so an attempt that dies after the
 * insert but before Temporal hears of it is recognised on retry and not inserted twice.
 */
import type { Pool, PoolClient } from 'pg';
import type { Artifact } from '../artifact/types';
import type { EffectContext, EffectRequest, EffectResult, EntityCreateRequest } from '../effects/types';
import { PermanentError, TransientError } from '../errors';
import { claimLedgerKey, ensureLedger, insertRow, LEDGER_TABLE } from '../sql/ledger';
import type { Provider } from './types';

export { ensureLedger } from '../sql/ledger';

export interface EntityProviderDeps {
  pool: Pool;
  artifact: Artifact;
}

export function createEntityProvider({ pool, artifact }: EntityProviderDeps): Provider {
  // The ledger DDL runs once per provider until migrations own it; a failure is retried on the next call.
  let ledgerReady: Promise<void> | undefined;
  const ledger = (): Promise<void> => {
    ledgerReady ??= ensureLedger(pool).catch((err: unknown) => {
      ledgerReady = undefined;
      throw new TransientError(`could not create ${LEDGER_TABLE}: ${messageOf(err)}`);
    });
    return ledgerReady;
  };

  return {
    name: 'entity',
    capabilities: ['entity.create'],
    async execute(request: EffectRequest, ctx: EffectContext): Promise<EffectResult> {
      if (request.capability !== 'entity.create') throw new PermanentError(`entity provider cannot serve capability ${request.capability}`);
      const req = request as EntityCreateRequest;
      const entity = Object.prototype.hasOwnProperty.call(artifact.entities, req.entity) ? artifact.entities[req.entity] : undefined;
      if (!entity) throw new PermanentError(`entity.create: unknown entity ${JSON.stringify(req.entity)}`);
      if (req.fields === null || typeof req.fields !== 'object' || Array.isArray(req.fields)) {
        throw new PermanentError(`entity.create ${entity.name}: fields must be an object`);
      }
      await ledger();

      let client: PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw classifyPgError(err, entity.name);
      }
      let broken = false;
      try {
        await client.query('BEGIN');
        const claim = claimLedgerKey(ctx.idempotencyKey);
        const claimed = await client.query(claim.text, claim.values);
        if (claimed.rowCount === 0) {
          await client.query('ROLLBACK');
          return { capability: 'entity.create', detail: { duplicate: true } };
        }
        const insert = insertRow(entity.table, req.fields);
        const inserted = await client.query<{ id: unknown }>(insert.text, insert.values);
        await client.query('COMMIT');
        return { capability: 'entity.create', detail: { id: inserted.rows[0]?.id ?? null } };
      } catch (err) {
        try {
          await client.query('ROLLBACK');
        } catch {
          // the connection is gone; release it as broken below
          broken = true;
        }
        throw classifyPgError(err, entity.name);
      } finally {
        client.release(broken);
      }
    },
  };
}

interface PgError {
  code?: string;
  message?: string;
  column?: string;
  table?: string;
}

const TRANSIENT_NODE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * Data exceptions (22), integrity violations (23) and undefined or invalid objects (42) fail the same
 * way on every attempt; connection trouble (08, 57P, 53, serialization 40) passes. Unknown failures
 * are transient, as the Provider contract says.
 */
export function classifyPgError(err: unknown, entity: string): Error {
  if (err instanceof PermanentError || err instanceof TransientError) return err;
  const e = (err ?? {}) as PgError;
  const message = messageOf(err);
  const code = typeof e.code === 'string' ? e.code : '';
  const sqlClass = /^[0-9A-Z]{5}$/.test(code) ? code.slice(0, 2) : '';
  if (sqlClass === '22' || sqlClass === '23' || sqlClass === '42') {
    const column = e.column ? ` (column ${e.column})` : '';
    return new PermanentError(`entity.create ${entity}: ${message}${column} [SQLSTATE ${code}]`, 'sql_rejected');
  }
  if (sqlClass === '08' || code.startsWith('57P') || sqlClass === '53' || sqlClass === '40' || TRANSIENT_NODE_CODES.has(code)) {
    return new TransientError(`entity.create ${entity}: database unavailable: ${message}`, undefined, 'database_unavailable');
  }
  return new TransientError(`entity.create ${entity}: ${message}`);
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
