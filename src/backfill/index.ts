/**
 * Backfill: a job run once for every existing row of its input entity that matches a filter, for a hook
 * added to an app that already has data. The rows go to the outbox in keyset pages, each naming the job,
 * and the relay starts them like any event.
 *
 * A backfill's id comes from the job, the filter and an optional name, so the same command finds the same
 * backfill: after Ctrl-C or a crash it resumes at its cursor, and once finished it is not run again (a new
 * --name runs it again). Each row's event id comes from the backfill id and the row id: a page written twice
 * (a crash after its COMMIT, a re-run) finds its rows already in the outbox, and Temporal refuses a second
 * workflow with the same id, so no row's job starts twice.
 */
import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { parseFilter } from '../artifact/filter';
import { hasField } from '../artifact/naming';
import type { Artifact, EntityDef, FilterExpr, Operation } from '../artifact/types';
import { filterComparisons } from '../artifact/filter';
import {
  backfillPageQuery,
  countRowsQuery,
  END_BACKFILL_SQL,
  firstIdsQuery,
  LIST_BACKFILLS_SQL,
  SET_TOTAL_SQL,
  START_BACKFILL_SQL,
  TRY_LOCK_SQL,
  UNLOCK_SQL,
} from '../sql/backfill';
import { migrate } from '../sql/migrations';

export const DEFAULT_BACKFILL_PAGE_SIZE = 500;

export interface BackfillOptions {
  pool: Pool;
  artifact: Artifact;
  job: string;
  /** a needs-filter expression over the input entity's fields, e.g. `status == "open"` */
  where?: string;
  /** distinguishes a second backfill of the same job and filter */
  name?: string;
  /** the operation the jobs see; default: the operation of the first after hook that lists the job, else create */
  operation?: Operation;
  /** rows per second at most */
  rate?: number;
  pageSize?: number;
  /** `[jobs] max_record_bytes`: larger rows go as their id, re-read by the worker */
  maxRecordBytes: number;
  /** stops after the current page */
  signal?: AbortSignal;
  onProgress?: (progress: BackfillProgress) => void;
}

export interface BackfillProgress {
  id: string;
  job: string;
  state: 'running' | 'stopped' | 'finished';
  done: number;
  total: number;
  /** rows per second in this run */
  rate: number;
  /** seconds left at this rate; undefined before the first page */
  etaSeconds?: number;
  /** rows written to the outbox in this run (a resumed page's rows already there are not counted) */
  written: number;
}

export interface BackfillPlan {
  id: string;
  job: string;
  entity: EntityDef;
  operation: Operation;
  filter?: FilterExpr;
  filterText?: string;
}

export interface BackfillRecord {
  id: string;
  job: string;
  entity: string;
  operation: string;
  filter: string | null;
  state: string;
  cursor: string | null;
  done: number;
  total: number;
  startedAt: Date;
  updatedAt: Date;
  finishedAt: Date | null;
}

/** Checks the job and filter against the artifact; throws a message naming what is wrong. */
export function planBackfill(artifact: Artifact, options: Pick<BackfillOptions, 'job' | 'where' | 'name' | 'operation'>): BackfillPlan {
  const job = Object.prototype.hasOwnProperty.call(artifact.jobs, options.job) ? artifact.jobs[options.job] : undefined;
  if (!job) throw new Error(`unknown job "${options.job}" (the artifact has ${Object.keys(artifact.jobs).join(', ') || 'no jobs'})`);
  const entity = artifact.entities[job.input_entity];
  if (!entity?.table) throw new Error(`job ${job.name}: its input entity ${job.input_entity} has no table`);
  const filterText = options.where?.trim() || undefined;
  let filter: FilterExpr | undefined;
  if (filterText) {
    try {
      filter = parseFilter(filterText);
    } catch (err) {
      throw new Error(`--where ${JSON.stringify(filterText)}: ${(err as Error).message}`);
    }
    for (const { field } of filterComparisons(filter)) {
      if (!hasField(entity, field)) throw new Error(`--where: ${entity.name} has no field "${field}"`);
    }
  }
  const operation =
    options.operation ?? artifact.hooks.find((h) => h.timing === 'after' && h.jobs.includes(job.name))?.operation ?? 'create';
  const id = `${job.name}-${createHash('sha256')
    .update(`${job.name}\0${filterText ?? ''}\0${operation}\0${options.name ?? ''}`)
    .digest('hex')
    .slice(0, 12)}`;
  return { id, job: job.name, entity, operation, filter, filterText };
}

/** What a backfill would cover: the count and the first ids, writing nothing. */
export async function dryRunBackfill(
  pool: Pool,
  plan: BackfillPlan,
  first = 10,
): Promise<{ id: string; total: number; firstIds: string[] }> {
  const count = countRowsQuery(plan.entity, plan.filter, null);
  const ids = firstIdsQuery(plan.entity, plan.filter, first);
  const [c, i] = await Promise.all([pool.query(count.text, count.values), pool.query(ids.text, ids.values)]);
  return { id: plan.id, total: Number(c.rows[0].n), firstIds: i.rows.map((r) => r.id as string) };
}

/** Runs (or resumes) a backfill until every row is written or `signal` stops it after a page. */
export async function runBackfill(options: BackfillOptions): Promise<BackfillProgress> {
  const plan = planBackfill(options.artifact, options);
  const { pool } = options;
  const rate = options.rate;
  if (rate !== undefined && !(rate > 0)) throw new Error(`the rate must be a positive number of rows per second, got ${rate}`);
  const pageSize = Math.max(1, Math.floor(Math.min(options.pageSize ?? DEFAULT_BACKFILL_PAGE_SIZE, rate ?? Infinity)));
  await migrate(pool);

  const session: PoolClient = await pool.connect();
  let locked = false;
  try {
    locked = (await session.query(TRY_LOCK_SQL, [plan.id])).rows[0].locked === true;
    if (!locked) throw new Error(`backfill ${plan.id} is running in another process`);
    const {
      rows: [state],
    } = await session.query(START_BACKFILL_SQL, [plan.id, plan.job, plan.entity.name, plan.operation, plan.filterText ?? null]);
    let cursor: string | null = state.cursor_id;
    let done = Number(state.done);
    const remaining = countRowsQuery(plan.entity, plan.filter, cursor);
    const total = done + Number((await session.query(remaining.text, remaining.values)).rows[0].n);
    const progress = (s: BackfillProgress['state'], written: number, processed: number, elapsedMs: number): BackfillProgress => {
      const perSecond = elapsedMs > 0 ? (processed * 1000) / elapsedMs : 0;
      const left = Math.max(0, total - done);
      return {
        id: plan.id,
        job: plan.job,
        state: s,
        done,
        total,
        rate: Math.round(perSecond * 10) / 10,
        etaSeconds: perSecond > 0 ? Math.ceil(left / perSecond) : undefined,
        written,
      };
    };
    if (state.state === 'finished') return { ...progress('finished', 0, 0, 0), total: done };
    await session.query(SET_TOTAL_SQL, [plan.id, total]);

    const started = Date.now();
    let written = 0;
    let processed = 0;
    options.onProgress?.(progress('running', 0, 0, 0));
    for (;;) {
      if (options.signal?.aborted) {
        await session.query(END_BACKFILL_SQL, [plan.id, 'stopped']);
        const stopped = progress('stopped', written, processed, Date.now() - started);
        options.onProgress?.(stopped);
        return stopped;
      }
      const q = backfillPageQuery({
        backfillId: plan.id,
        job: plan.job,
        entity: plan.entity,
        operation: plan.operation,
        filter: plan.filter,
        cursor,
        pageSize,
        maxRecordBytes: options.maxRecordBytes,
      });
      const {
        rows: [page],
      } = await session.query(q.text, q.values);
      cursor = page.cursor_id;
      done = Number(page.done);
      written += page.page_rows > 0 ? page.written : 0;
      processed += page.page_rows;
      // the page's rows count against the rate whether or not more follow: no run goes faster than it
      if (rate !== undefined) await pace(started, processed, rate, options.signal);
      if (page.page_rows < pageSize) break;
      options.onProgress?.(progress('running', written, processed, Date.now() - started));
    }
    await session.query(END_BACKFILL_SQL, [plan.id, 'finished']);
    const finished = progress('finished', written, processed, Date.now() - started);
    options.onProgress?.(finished);
    return finished;
  } finally {
    if (locked) await session.query(UNLOCK_SQL, [plan.id]).catch(() => undefined);
    session.release();
  }
}

/** Waits until `processed` rows since `started` are within `rate` per second, or the signal stops the run. */
function pace(started: number, processed: number, rate: number, signal?: AbortSignal): Promise<void> {
  const due = started + (processed / rate) * 1000 - Date.now();
  if (due <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(done, due);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done);
  });
}

/**
 * Every backfill, newest first. One marked running whose process is gone (its session lock is free)
 * shows as interrupted: the same command resumes it.
 */
export async function listBackfills(pool: Pool): Promise<BackfillRecord[]> {
  await migrate(pool);
  const { rows } = await pool.query(LIST_BACKFILLS_SQL);
  const client = await pool.connect();
  try {
    const out: BackfillRecord[] = [];
    for (const r of rows) {
      let state = r.state as string;
      if (state === 'running' && (await client.query(TRY_LOCK_SQL, [r.id])).rows[0].locked) {
        await client.query(UNLOCK_SQL, [r.id]);
        state = 'interrupted';
      }
      out.push({
        id: r.id,
        job: r.job,
        entity: r.entity,
        operation: r.operation,
        filter: r.filter,
        state,
        cursor: r.cursor_id,
        done: Number(r.done),
        total: Number(r.total),
        startedAt: r.started_at,
        updatedAt: r.updated_at,
        finishedAt: r.finished_at,
      });
    }
    return out;
  } finally {
    client.release();
  }
}
