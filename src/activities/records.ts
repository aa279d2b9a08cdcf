/**
 * A job run's input by reference. The trigger record (up to `[jobs] max_record_bytes`) is in the first event
 * of the job run's history; activities read it from there, once per worker and run, instead of every
 * activity and child input carrying a copy: a fan-out's histories then hold the record once each.
 */
import { Context } from '@temporalio/activity';
import type { Client } from '@temporalio/client';
import { decodeFromPayloadsAtIndex } from '@temporalio/common/lib/internal-non-workflow';
import type { JobInput, JobRef, Row } from '../workflows/types';

/** Job runs whose input (and what is derived from it) a worker keeps: the runs it is working on. */
const DEFAULT_ENTRIES = 64;

export interface JobInputs {
  /** the job run's input, as its first history event has it */
  read(ref: JobRef): Promise<JobInput>;
  /** a value derived from a job run (its needs scope), made once per worker while the run is in the cache */
  derived<T>(ref: JobRef, name: string, make: (input: JobInput) => Promise<T>): Promise<T>;
}

export function createJobInputs(
  options: {
    entries?: number;
    client?: () => Client;
    /** the record as jobs see it: a row captured as its id alone is read here (./record.ts) */
    record?: (input: JobInput) => Promise<Row>;
  } = {},
): JobInputs {
  const entries = options.entries ?? DEFAULT_ENTRIES;
  const cache = new Map<string, Promise<unknown>>();
  const client = options.client ?? (() => Context.current().client);

  function remember<T>(key: string, make: () => Promise<T>): Promise<T> {
    const hit = cache.get(key) as Promise<T> | undefined;
    if (hit) {
      // Most recently used last, so eviction takes the least recently used.
      cache.delete(key);
      cache.set(key, hit);
      return hit;
    }
    const made = make();
    cache.set(key, made);
    // A failed read is not kept: the activity's retry reads again.
    made.catch(() => cache.delete(key));
    while (cache.size > entries) cache.delete(cache.keys().next().value as string);
    return made;
  }

  function read(ref: JobRef): Promise<JobInput> {
    return remember(`${ref.workflowId}\0${ref.runId}`, async () => {
      const input = await readFirstEvent(client(), ref);
      return options.record ? { ...input, record: await options.record(input) } : input;
    });
  }

  function derived<T>(ref: JobRef, name: string, make: (input: JobInput) => Promise<T>): Promise<T> {
    return remember(`${ref.workflowId}\0${ref.runId}\0${name}`, async () => make(await read(ref)));
  }

  return { read, derived };
}

async function readFirstEvent(client: Client, ref: JobRef): Promise<JobInput> {
  const namespace = client.options.namespace;
  const { history } = await client.workflowService.getWorkflowExecutionHistory({
    namespace,
    execution: { workflowId: ref.workflowId, runId: ref.runId },
    maximumPageSize: 1,
  });
  const started = history?.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (!started) throw new Error(`job run ${ref.workflowId} (${ref.runId}) has no start event`);
  const context = { type: 'workflow' as const, namespace, workflowId: ref.workflowId };
  return decodeFromPayloadsAtIndex<JobInput>(client.options.loadedDataConverter, 0, started.input?.payloads, context);
}
