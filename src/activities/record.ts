/**
 * The trigger record as a job sees it. A row captured while larger than `[jobs] max_record_bytes` reached
 * the outbox (and the workflow's history) as its id alone: it is read here, by id, when the worker needs it.
 * A row deleted since then keeps the id alone.
 */
import type { Pool } from 'pg';
import type { Artifact } from '../artifact/types';
import { TransientError } from '../errors';
import { REREAD_KEY } from '../sql/capture';
import { targetByIdQuery } from '../sql/targets';
import type { Row } from '../workflows/types';

export function isReread(record: Row): boolean {
  return record[REREAD_KEY] === true;
}

export async function triggerRecord(pool: Pool, artifact: Artifact, entityName: string, record: Row): Promise<Row> {
  if (!isReread(record)) return record;
  const { [REREAD_KEY]: _marker, ...stub } = record;
  const entity = artifact.entities[entityName];
  if (!entity) return stub;
  const q = targetByIdQuery(entity.table, record.id);
  try {
    const { rows } = await pool.query(q.text, q.values);
    return (rows[0] as Row | undefined) ?? stub;
  } catch (err) {
    throw new TransientError(`reading ${entityName} ${String(record.id)}: ${(err as Error).message}`);
  }
}
