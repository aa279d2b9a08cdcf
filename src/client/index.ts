/**
 * What the app calls after it commits: afterCommit starts one workflow per matched job and never throws
 * into the request path; withTransaction defers those starts until COMMIT.
 */
import { Client, Connection, WorkflowExecutionAlreadyStartedError, WorkflowIdReusePolicy } from '@temporalio/client';
import type { Pool, PoolClient } from 'pg';
import type { Artifact } from '../artifact/types';
import { defaultRuntimeConfig } from '../config';
import type { RuntimeConfig, TemporalConfig } from '../config/types';
import { createLogger, type Logger } from '../log';
import { jobSearchAttributes } from '../search-attributes';
import { connectionOptions } from '../temporal/connect';
import type { JobInput, JobPolicy, Row } from '../workflows/types';
import { matchHooks } from './hooks';
import { deriveEventId, jobWorkflowId, recordIdOf } from './ids';
import { jobPolicy } from './policy';
import { resolveArtifact } from './artifact';

export interface JobClientOptions {
  artifact: Artifact | string | object;
  config?: RuntimeConfig;
  temporal?: Partial<Pick<TemporalConfig, 'address' | 'namespace'>> & Partial<TemporalConfig>;
  taskQueue?: string;
  logger?: Logger;
  /** an existing Temporal client (its connection stays the caller's) */
  client?: Client;
  policy?: Partial<JobPolicy>;
}

export interface StartedJob {
  job: string;
  workflowId: string;
}

export type Emit = (entity: string, operation: string, record: Row, options?: { eventId?: string }) => void;

export function createJobClient(options: JobClientOptions) {
  const config = options.config ?? defaultRuntimeConfig();
  const artifact = resolveArtifact(options.artifact, config);
  const temporal: TemporalConfig = { ...config.temporal, ...options.temporal };
  const taskQueue = options.taskQueue ?? config.jobs.taskQueue;
  const logger = options.logger ?? createLogger();
  const policy = jobPolicy(config, options.policy);
  let connecting: Promise<Client> | undefined = options.client ? Promise.resolve(options.client) : undefined;
  let ownConnection: Connection | undefined;

  function temporalClient(): Promise<Client> {
    connecting ??= Connection.connect({ ...connectionOptions(temporal), connectTimeout: '5s' }).then(
      (connection) => {
        ownConnection = connection;
        return new Client({ connection, namespace: temporal.namespace });
      },
      (err) => {
        connecting = undefined; // the next event tries again
        throw err;
      },
    );
    return connecting;
  }

  async function afterCommit(entity: string, operation: string, record: Row, opts: { eventId?: string } = {}): Promise<StartedJob[]> {
    try {
      const hooks = matchHooks(artifact, entity, operation);
      if (hooks.length === 0) return [];
      const eventId = opts.eventId ?? deriveEventId(entity, operation, record);
      const recordId = recordIdOf(record);
      const starts: Promise<StartedJob | undefined>[] = [];
      for (const hook of hooks) {
        logger.info('hook.matched', { entity, operation, timing: hook.timing, jobs: hook.jobs.map((j) => j.name) });
        for (const job of hook.jobs) {
          const workflowId = jobWorkflowId({ job: job.name, entity, operation, recordId, eventId });
          const input: JobInput = { eventId, job: job.name, entity, operation: operation as JobInput['operation'], record, capabilities: [...job.capabilities], policy };
          starts.push(
            start(workflowId, input, recordId).then(
              () => ({ job: job.name, workflowId }),
              (err) => {
                logger.error('hook.enqueue_failed', { entity, operation, job: job.name, workflow_id: workflowId, error: (err as Error).message });
                return undefined;
              },
            ),
          );
        }
      }
      return (await Promise.all(starts)).filter((s): s is StartedJob => s !== undefined);
    } catch (err) {
      logger.error('hook.enqueue_failed', { entity, operation, error: (err as Error).message });
      return [];
    }
  }

  async function start(workflowId: string, input: JobInput, recordId: string): Promise<void> {
    const client = await temporalClient();
    try {
      await client.workflow.start('jobWorkflow', {
        workflowId,
        taskQueue,
        args: [input],
        // The same event again must not start a second run; a redrive reuses the id explicitly.
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
        typedSearchAttributes: jobSearchAttributes({ job: input.job, entity: input.entity, operation: input.operation, recordId, state: 'pending' }),
      });
      logger.debug('job.enqueued', { job_id: workflowId, name: input.job, capability: input.capabilities.join(',') });
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) return;
      throw err;
    }
  }

  /**
   * BEGIN … fn … COMMIT on a client of `pool`; what fn emits starts only after COMMIT, and nothing on ROLLBACK.
   * The started jobs are on the returned promise's `jobs` only after the commit succeeded.
   */
  async function withTransaction<T>(pool: Pool, fn: (tx: PoolClient, emit: Emit) => Promise<T>): Promise<T> {
    const events: Array<[string, string, Row, { eventId?: string } | undefined]> = [];
    const tx = await pool.connect();
    let result: T;
    try {
      await tx.query('BEGIN');
      result = await fn(tx, (entity, operation, record, opts) => events.push([entity, operation, record, opts]));
      await tx.query('COMMIT');
    } catch (err) {
      await tx.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      tx.release();
    }
    await Promise.all(events.map(([e, o, r, opts]) => afterCommit(e, o, r, opts)));
    return result;
  }

  async function close(): Promise<void> {
    await ownConnection?.close();
  }

  return { afterCommit, withTransaction, close, artifact, taskQueue, temporalClient };
}

export type JobClient = ReturnType<typeof createJobClient>;
