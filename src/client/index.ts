/**
 * What the app calls after it commits: afterCommit starts one workflow per matched job within a deadline,
 * never throws into the request path, and hands what Temporal did not accept to the outbox; withTransaction
 * defers those starts until COMMIT. enqueue writes the event to the transactional outbox instead, for the
 * relay (src/outbox) to start. The starts themselves are the starter's (./starter.ts); inspection is its
 * own object (./inspect.ts).
 */
import type { Pool, PoolClient } from 'pg';
import type { Row } from '../workflows/types';
import { matchHooks } from './hooks';
import {
  deriveEventId,
  jobWorkflowId,
  recordIdOf,
  transactionEventId,
  checkRecordSize,
  maxRecordBytes,
  RecordTooLargeError,
} from '../outbox/event';
import { createStartBreaker, isTemporalUnavailable } from './start';
import { inTransactionAnswered } from '../postgres/transaction';
import { outboxRow, recordKeyOf, writeOutboxEvent, type EnqueuedEvent } from '../outbox/enqueue';
import {
  CURRENT_TRANSACTION_ID_SQL,
  enqueueOutboxStatement,
  MARK_DISPATCHED_SQL,
  outboxRowStatement,
  RELEASE_OUTBOX_SQL,
  type OutboxRowInput,
  type Queryable,
} from '../sql/outbox';
import {
  createJobStarter,
  errorText,
  type JobStarterOptions,
  type OutboxDispatchError,
  type PlannedStart,
  type StartedJob,
} from './starter';

export { DEFAULT_MAX_RECORD_BYTES, RecordTooLargeError } from '../outbox/event';
export { DEFAULT_START_DEADLINE_MS, StartDeadlineError } from './start';
export { OutboxDispatchError, type StartedJob } from './starter';
export type { EnqueuedEvent } from '../outbox/enqueue';

export interface JobClientOptions extends JobStarterOptions {
  /** the app's pool (stays the caller's): where afterCommit puts an event Temporal did not accept within the
   * start deadline, for the relay. Without it such an event is logged hook.start_lost. */
  database?: Pool;
}

export type Emit = (entity: string, operation: string, record: Row, options?: { eventId?: string }) => void;

export interface AfterCommitOptions {
  /** the event's id, fixed by the caller (a retried request passes the same one) */
  eventId?: string;
  /** the committed transaction's id (`SELECT pg_current_xact_id()` inside it): the event id is derived from
   * it, so the same content committed twice is two events; without either, the id hashes the content */
  transactionId?: string | bigint;
}

/** How long a row withTransaction wrote stays the committing process's to start before a relay may claim it. */
export const COMMITTER_LEASE_MS = 10_000;

/** One event's starts as the breaker sees them: any unavailable answer means Temporal is away. */
function outcomeOf(results: PromiseSettledResult<unknown>[]): 'started' | 'unavailable' | 'refused' {
  const failures = results.flatMap((r) => (r.status === 'rejected' ? [r.reason] : []));
  if (failures.some((e) => isTemporalUnavailable(e))) return 'unavailable';
  return failures.length > 0 ? 'refused' : 'started';
}

export function createJobClient(options: JobClientOptions) {
  const starter = createJobStarter(options);
  const { artifact, taskQueue, logger, startDeadlineMs, plan, start, dispatch } = starter;
  const recordLimit = maxRecordBytes(starter.config);

  /** Starts begun after a COMMIT and not awaited by the request (withTransaction's outbox rows); close waits. */
  const background = new Set<Promise<unknown>>();
  // While Temporal is known to be away, the request path goes to the outbox without waiting for it.
  const breaker = createStartBreaker({
    probe: () =>
      starter.beforeDeadline(startDeadlineMs, async (signal) => {
        const client = await starter.temporalClient();
        await client.connection.withAbortSignal(signal, () => client.workflowService.getSystemInfo({}));
      }),
  });

  function eventIdOf(entity: string, operation: string, record: Row, opts: AfterCommitOptions): string {
    if (opts.eventId) return opts.eventId;
    if (opts.transactionId !== undefined)
      return transactionEventId(opts.transactionId, entity, operation, recordKeyOf(entity, operation, record));
    return deriveEventId(entity, operation, record);
  }

  /**
   * Starts every job of a committed event, each within the start deadline; what Temporal did not accept in
   * time goes to the outbox in a transaction of its own (on `options.database`, or the pool withTransaction
   * used), for the relay. Never throws and never waits longer than the deadline plus that one INSERT. The
   * result names every job whose workflow will exist: started now, or by the relay. An event that can go
   * nowhere (no database) is logged as hook.start_lost.
   */
  async function afterCommit(entity: string, operation: string, record: Row, opts: AfterCommitOptions = {}): Promise<StartedJob[]> {
    return afterCommitOn(options.database, entity, operation, record, opts);
  }

  async function afterCommitOn(
    database: Pool | undefined,
    entity: string,
    operation: string,
    record: Row,
    opts: AfterCommitOptions,
  ): Promise<StartedJob[]> {
    let planned: PlannedStart[];
    let eventId: string;
    try {
      const hooks = matchHooks(artifact, entity, operation);
      if (hooks.length === 0) return [];
      checkRecordSize(entity, operation, record, recordLimit);
      eventId = eventIdOf(entity, operation, record, opts);
      planned = plan(hooks, entity, operation, record, eventId);
    } catch (err) {
      const bound = err instanceof RecordTooLargeError ? { size_bytes: err.size, limit_bytes: err.limit } : {};
      logger.error('hook.enqueue_failed', { entity, operation, error: (err as Error).message, ...bound });
      return [];
    }
    const attempt = !database || breaker.shouldTry();
    const results: PromiseSettledResult<void>[] = attempt
      ? await Promise.allSettled(planned.map((p) => start(p.workflowId, p.input, p.recordId)))
      : planned.map(() => ({ status: 'rejected', reason: new Error('Temporal was unavailable moments ago: not tried') }));
    if (attempt) breaker.record(outcomeOf(results));
    const failed = planned.filter((_, i) => results[i].status === 'rejected');
    const started = planned.filter((_, i) => results[i].status === 'fulfilled').map((p) => ({ job: p.job, workflowId: p.workflowId }));
    if (failed.length === 0) return started;
    const reason = errorText((results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason);
    const workflowIds = failed.map((p) => p.workflowId);
    if (!database) {
      logger.error('hook.start_lost', {
        entity,
        operation,
        event_id: eventId,
        workflow_ids: workflowIds,
        error: reason,
        why: 'no database to hold the event for the relay (JobClientOptions.database)',
      });
      return started;
    }
    try {
      const row = outboxRow(entity, operation, record, { eventId, jobs: failed.map((p) => p.job), maxRecordBytes: recordLimit });
      const q = outboxRowStatement({ ...row, eventId, transactionId: opts.transactionId?.toString() });
      const { rows } = await database.query(q.text, q.values);
      logger.warn('hook.start_deferred', {
        entity,
        operation,
        event_id: eventId,
        outbox_id: rows[0].id,
        workflow_ids: workflowIds,
        error: reason,
      });
      return [...started, ...failed.map((p) => ({ job: p.job, workflowId: p.workflowId }))];
    } catch (err) {
      logger.error('hook.start_lost', {
        entity,
        operation,
        event_id: eventId,
        workflow_ids: workflowIds,
        error: reason,
        outbox_error: errorText(err),
      });
      return started;
    }
  }

  /**
   * Writes the event to the outbox on `tx` (a pg client inside the app's BEGIN), its id taken from that
   * transaction; the relay starts its jobs after COMMIT (woken by a NOTIFY sent at COMMIT), and nothing
   * happens on ROLLBACK. An event that matches no after hook writes no row (undefined). Throws what
   * Postgres throws: the row is part of the app's transaction.
   */
  async function enqueue(
    tx: Queryable,
    entity: string,
    operation: string,
    record: Row,
    opts: { eventId?: string } = {},
  ): Promise<(EnqueuedEvent & { jobs: StartedJob[] }) | undefined> {
    const jobs = hookJobs(entity, operation);
    if (jobs.length === 0) return undefined;
    const written = await writeOutboxEvent(tx, entity, operation, record, { ...opts, jobs, maxRecordBytes: recordLimit });
    return { ...written, jobs: jobsOf(entity, operation, record, jobs, written.eventId) };
  }

  /** The jobs of every after hook an event matches; none: the event writes no row. */
  function hookJobs(entity: string, operation: string): string[] {
    return matchHooks(artifact, entity, operation).flatMap((h) => h.jobs.map((j) => j.name));
  }

  /** The outbox row of an event; undefined when no after hook matches. An oversized record throws RecordTooLargeError before any SQL. */
  function outboxEvent(entity: string, operation: string, record: Row, opts: { eventId?: string }): { row: OutboxRowInput } | undefined {
    const jobs = hookJobs(entity, operation);
    if (jobs.length === 0) return undefined;
    return { row: outboxRow(entity, operation, record, { ...opts, jobs, maxRecordBytes: recordLimit }) };
  }

  /** The workflow ids an event's jobs start once its event id is fixed: the app can answer with them before any start. */
  function jobsOf(entity: string, operation: string, record: Row, jobs: string[], eventId: string): StartedJob[] {
    const recordId = recordIdOf(record);
    return jobs.map((job) => ({ job, workflowId: jobWorkflowId({ job, entity, operation, recordId, eventId }) }));
  }

  /**
   * Starts the jobs of outbox rows this process just committed (leased to it, so no relay claims them
   * meanwhile) and marks them dispatched; a row not started is given back to the relays at once.
   */
  async function startCommitted(
    pool: Pool,
    rows: Array<{ id: string; row: OutboxRowInput; eventId: string; transactionId?: string }>,
  ): Promise<void> {
    const done: string[] = [];
    const released: Array<{ id: string; error: string }> = [];
    if (!breaker.shouldTry()) {
      released.push(...rows.map(({ id }) => ({ id, error: 'Temporal was unavailable moments ago: not tried' })));
    } else {
      let unavailable = false;
      await Promise.all(
        rows.map(async ({ id, row, eventId }) => {
          try {
            await dispatch(row.entity, row.operation, row.record, eventId, row.jobs, COMMITTER_LEASE_MS / 2);
            done.push(id);
          } catch (err) {
            if ((err as OutboxDispatchError).kind === 'unavailable') unavailable = true;
            released.push({ id, error: errorText(err) });
          }
        }),
      );
      breaker.record(unavailable ? 'unavailable' : 'started');
    }
    try {
      if (done.length > 0) await pool.query(MARK_DISPATCHED_SQL, [done]);
      if (released.length > 0) {
        await pool.query(RELEASE_OUTBOX_SQL, [released.map((r) => r.id), released[0].error.slice(0, 2000)]);
        logger.warn('outbox.start_deferred', { outbox_ids: released.map((r) => r.id), error: released[0].error });
      }
    } catch (err) {
      // The rows stay leased until the lease runs out; then the relay starts them (a no-op where started).
      logger.warn('outbox.mark_failed', { outbox_ids: [...done, ...released.map((r) => r.id)], error: errorText(err) });
    }
  }

  function inBackground(work: Promise<unknown>): void {
    const tracked = work
      .catch((err) => logger.error('outbox.start_failed', { error: errorText(err) }))
      .finally(() => background.delete(tracked));
    background.add(tracked);
  }

  /**
   * BEGIN … fn … COMMIT on a client of `pool`; what fn emits starts only after COMMIT, and nothing on ROLLBACK.
   * Event ids come from the transaction's id (sent with the COMMIT), so the same row committed twice with the
   * same content is two events.
   * Without the outbox, the jobs are started after COMMIT, each within the start deadline, and what Temporal
   * did not accept goes to the outbox on `pool` (afterCommit). With `{ outbox: true }` the emitted events
   * are written to the outbox inside the transaction, sent with the COMMIT, and leased to this process,
   * which starts them right after COMMIT without the request waiting; the relay's sweep starts any this
   * process could not (a crash between COMMIT and the starts loses nothing).
   */
  async function withTransaction<T>(
    pool: Pool,
    fn: (tx: PoolClient, emit: Emit) => Promise<T>,
    mode: { outbox?: boolean } = {},
  ): Promise<T> {
    const events: Array<[string, string, Row, { eventId?: string } | undefined]> = [];
    const emit: Emit = (entity, operation, record, opts) => events.push([entity, operation, record, opts]);
    if (mode.outbox) {
      let rows: OutboxRowInput[] = [];
      const { value, answers } = await inTransactionAnswered(
        pool,
        (tx) => fn(tx, emit),
        () => {
          rows = events.flatMap(([e, o, r, opts]) => outboxEvent(e, o, r, opts ?? {})?.row ?? []);
          return rows.map((row) => enqueueOutboxStatement(row, { leaseMs: COMMITTER_LEASE_MS }));
        },
      );
      if (rows.length > 0) {
        const written = rows.map((row, i) => ({ row, id: String(answers[i][0].id), eventId: String(answers[i][0].event_id) }));
        inBackground(startCommitted(pool, written));
      }
      return value;
    }
    const { value, answers } = await inTransactionAnswered(
      pool,
      (tx) => fn(tx, emit),
      () => (events.length > 0 ? [{ text: CURRENT_TRANSACTION_ID_SQL, values: [] }] : []),
    );
    if (events.length > 0) {
      const transactionId = String(answers[0][0].transaction_id);
      await Promise.all(events.map(([e, o, r, opts]) => afterCommitOn(options.database ?? pool, e, o, r, { transactionId, ...opts })));
    }
    return value;
  }

  /** Waits for the starts begun after COMMITs, then closes the connection the client opened. */
  async function close(): Promise<void> {
    breaker.dispose();
    await Promise.all([...background]);
    await starter.close();
  }

  return { afterCommit, enqueue, withTransaction, close, artifact, taskQueue };
}

export type JobClient = ReturnType<typeof createJobClient>;
