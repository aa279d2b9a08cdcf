/** The worker of one rate lane: activities only, the lane's rate given to the server, sends spaced in-process. */
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import type { createActivities } from '../activities';
import type { Logger } from '../log';
import type { RateLane } from './lanes';
import { createPacer, watchLaneWorkers } from './pacer';

type Activities = ReturnType<typeof createActivities>;

export async function createLaneWorker(a: {
  connection: NativeConnection;
  namespace: string;
  lane: RateLane;
  activities: Activities;
  logger: Logger;
  options: Pick<WorkerOptions, 'dataConverter' | 'interceptors'>;
}): Promise<{ worker: Worker; stop: () => void }> {
  const { lane } = a;
  const workers = watchLaneWorkers(a.connection, a.namespace, lane.taskQueue, {
    error: (err) => a.logger.warn('rate.lane_workers_unknown', { lane: lane.taskQueue, error: err.message }),
    change: (count) => a.logger.info('rate.lane_workers', { lane: lane.taskQueue, workers: count }),
  });
  const pacer = createPacer(lane.rate.perSecond, workers.count);
  const { runEffect } = a.activities;
  const worker = await Worker.create({
    ...a.options,
    connection: a.connection,
    namespace: a.namespace,
    taskQueue: lane.taskQueue,
    activities: {
      ...a.activities,
      async runEffect(input: Parameters<typeof runEffect>[0]) {
        const done = await pacer.take();
        try {
          return await runEffect(input);
        } finally {
          done();
        }
      },
    },
    // The server's limit across every worker of the lane: a task is one target's send.
    maxTaskQueueActivitiesPerSecond: lane.rate.perSecond,
    // A task taken waits here for its spacing; about a second's worth keeps that wait short.
    maxConcurrentActivityTaskExecutions: Math.max(1, Math.min(200, Math.ceil(lane.rate.perSecond))),
  });
  return { worker, stop: workers.stop };
}
