/**
 * Database capture: a statement-level trigger per `after` hook's entity and operation writes every committed
 * row into the outbox, in the writer's transaction, whatever wrote it (an app on Forge's Go runtime, psql, a
 * migration). The relay starts the hooks' jobs from those rows as from any enqueued event.
 *
 * install brings the database to exactly the artifact's set in one transaction (what matches is left alone,
 * what is stale is replaced, what the artifact no longer has is dropped); status compares without writing;
 * remove drops everything install created, recognised by the comment install puts on its functions.
 */
import type { Pool } from 'pg';
import type { Artifact } from '../artifact/types';
import { inTransaction } from '../postgres/transaction';
import {
  CAPTURE_LOCK_SQL,
  captureDefinition,
  dropStatements,
  INSTALLED_CAPTURE_SQL,
  parseInstalled,
  type CaptureDefinition,
  type CaptureOperation,
  type InstalledCapture,
} from '../sql/capture';
import { migrate } from '../sql/migrations';

export type CaptureState = 'installed' | 'missing' | 'stale' | 'extra';

export interface CaptureStatusEntry {
  entity: string;
  operation: CaptureOperation;
  table: string;
  trigger: string;
  state: CaptureState;
}

export interface CaptureStatus {
  entries: CaptureStatusEntry[];
  /** every expected trigger installed and current, nothing extra */
  ok: boolean;
}

export interface CaptureChange {
  entity: string;
  operation: CaptureOperation;
  table: string;
  trigger: string;
  action: 'created' | 'replaced' | 'dropped' | 'unchanged';
}

/** The triggers the artifact asks for: one per entity and operation that has an after hook with jobs. */
export function expectedCapture(artifact: Artifact, maxRecordBytes: number): CaptureDefinition[] {
  const seen = new Set<string>();
  const definitions: CaptureDefinition[] = [];
  for (const hook of artifact.hooks) {
    if (hook.timing !== 'after' || hook.jobs.length === 0) continue;
    const key = `${hook.entity}\0${hook.operation}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const entity = artifact.entities[hook.entity];
    if (!entity?.table) throw new Error(`hook on ${hook.entity} ${hook.operation}: the entity has no table in the artifact`);
    definitions.push(captureDefinition({ entity: hook.entity, operation: hook.operation, table: entity.table }, maxRecordBytes));
  }
  return definitions;
}

async function installed(db: Pick<Pool, 'query'>): Promise<InstalledCapture[]> {
  const { rows } = await db.query(INSTALLED_CAPTURE_SQL);
  return rows.map(parseInstalled);
}

function compare(
  expected: CaptureDefinition[],
  present: InstalledCapture[],
): Array<{ expected?: CaptureDefinition; present?: InstalledCapture; state: CaptureState }> {
  const byFunction = new Map(present.map((p) => [p.functionName, p]));
  const out: Array<{ expected?: CaptureDefinition; present?: InstalledCapture; state: CaptureState }> = [];
  for (const e of expected) {
    const p = byFunction.get(e.functionName);
    byFunction.delete(e.functionName);
    if (!p) out.push({ expected: e, state: 'missing' });
    else if (p.hash !== e.hash || !p.triggerPresent || p.triggerName !== e.triggerName || p.table !== e.table)
      out.push({ expected: e, present: p, state: 'stale' });
    else out.push({ expected: e, present: p, state: 'installed' });
  }
  for (const p of byFunction.values()) out.push({ present: p, state: 'extra' });
  return out;
}

/** What is installed against what the artifact asks for; writes nothing. */
export async function captureStatus(pool: Pool, artifact: Artifact, maxRecordBytes: number): Promise<CaptureStatus> {
  const entries = compare(expectedCapture(artifact, maxRecordBytes), await installed(pool)).map(({ expected, present, state }) => {
    const c = (expected ?? present)!;
    return { entity: c.entity, operation: c.operation, table: c.table, trigger: (expected ?? present)!.triggerName, state };
  });
  return { entries, ok: entries.every((e) => e.state === 'installed') };
}

/**
 * Brings the database to the artifact's set of triggers in one transaction; idempotent. Runs the migrations
 * first: the triggers write into the outbox and call forge_jobs.event_id.
 */
export async function installCapture(pool: Pool, artifact: Artifact, maxRecordBytes: number): Promise<CaptureChange[]> {
  const expected = expectedCapture(artifact, maxRecordBytes);
  await migrate(pool);
  return inTransaction(pool, async (tx) => {
    await tx.query(CAPTURE_LOCK_SQL.text, CAPTURE_LOCK_SQL.values);
    const changes: CaptureChange[] = [];
    for (const { expected: e, present: p, state } of compare(expected, await installed(tx))) {
      if (state === 'extra' && p) {
        for (const sql of dropStatements(p)) await tx.query(sql);
        changes.push({ entity: p.entity, operation: p.operation, table: p.table, trigger: p.triggerName, action: 'dropped' });
        continue;
      }
      if (!e) continue;
      if (state === 'installed') {
        changes.push({ entity: e.entity, operation: e.operation, table: e.table, trigger: e.triggerName, action: 'unchanged' });
        continue;
      }
      // a stale trigger may sit on another table or under another name: drop what was there first
      if (p) for (const sql of dropStatements(p)) await tx.query(sql);
      try {
        for (const sql of e.install) await tx.query(sql);
      } catch (err) {
        throw new Error(`capture of ${e.entity} ${e.operation} on table ${e.table}: ${(err as Error).message}; nothing was installed`);
      }
      changes.push({
        entity: e.entity,
        operation: e.operation,
        table: e.table,
        trigger: e.triggerName,
        action: state === 'missing' ? 'created' : 'replaced',
      });
    }
    return changes;
  });
}

/** Drops every trigger and function install created (whatever artifact they came from), in one transaction. */
export async function removeCapture(pool: Pool): Promise<CaptureChange[]> {
  return inTransaction(pool, async (tx) => {
    await tx.query(CAPTURE_LOCK_SQL.text, CAPTURE_LOCK_SQL.values);
    const changes: CaptureChange[] = [];
    for (const p of await installed(tx)) {
      for (const sql of dropStatements(p)) await tx.query(sql);
      changes.push({ entity: p.entity, operation: p.operation, table: p.table, trigger: p.triggerName, action: 'dropped' });
    }
    return changes;
  });
}
