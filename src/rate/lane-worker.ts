/** The worker of one rate lane: activities only, the lane's rate given to the server, sends spaced in-process. */
import { Worker, type NativeConnection, type WorkerOptions } from '@temporalio/worker';
import { createActivities, type ActivityDeps } from '../activities';
import type { Logger } from '../log';
import type { RateLane } from './lanes';
import { createPacer, watchLaneWorkers } from './pacer';

export async function createLaneWorker(a: {
  connection: NativeConnection;
  namespace: string;
  lane: RateLane;
  activities: ActivityDeps;
  logger: Logger;
  options: Pick<WorkerOptions, 'dataConverter' | 'interceptors'>;
}): Promise<{ worker: Worker; stop: () => void }> {
  const { lane } = a;
  const workers = watchLaneWorkers(a.connection, a.namespace, lane.taskQueue, {
    error: (err) => a.logger.warn('rate.lane_workers_unknown', { lane: lane.taskQueue, error: err.message }),
    change: (count) => a.logger.info('rate.lane_workers', { lane: lane.taskQueue, workers: count }),
  });
  const worker = await Worker.create({
    ...a.options,
    connection: a.connection,
    namespace: a.namespace,
    taskQueue: lane.taskQueue,
    activities: createActivities({ ...a.activities, pacer: createPacer(lane.rate.perSecond, workers.count) }),
    // The server's limit across every worker of the lane: a task carries at most `perTask` sends.
    maxTaskQueueActivitiesPerSecond: lane.tasksPerSecond,
    // A task taken waits here for its sends' turns: a quarter of a second's worth per worker, so what waits for
    // the rate waits in the server's backlog of the lane (stats show it), not in a worker.
    maxConcurrentActivityTaskExecutions: Math.max(1, Math.min(200, Math.ceil(lane.tasksPerSecond / 4))),
  });
  return { worker, stop: workers.stop };
}
