/**
 * Rate lanes. A job whose sends are limited runs its effect activities on a task queue of their own,
 * `<task queue>/email`, `/http` or `/job/<name>`, and every worker polls that queue with the lane's rate as
 * `maxTaskQueueActivitiesPerSecond`: the Temporal server hands out at most that many tasks a second to all
 * workers together, so adding workers does not add sends. A send waiting for the rate waits in the lane's
 * backlog: it is not an attempt, and nothing fails for it. Retries and a redrive use the same lane.
 *
 * The server counts tasks, not sends. Up to 100 sends a second a task is one send, so the server's limit is
 * the rate itself. Above that a task carries up to `perTask` sends of one job (the batch of a fan-out), the
 * server allows rate / perTask tasks a second, and the sends of a task are spaced by the worker: Temporal's
 * per-task cost, not the provider, would bound a fast lane otherwise. The faster the lane, the fewer tasks
 * a second (10,000 / rate, never under 10: 100 sends a task at 1000/s), so the tasks' cost stays bounded as
 * the sends grow. A job of one target on such a lane still takes a whole task.
 */
import type { Rate } from '../config/rate';
import type { RuntimeConfig } from '../config/types';

export interface RateLane {
  /** email, http or job/<name> */
  name: string;
  taskQueue: string;
  rate: Rate;
  /** the most sends one task carries */
  perTask: number;
  /** the server's limit for the lane */
  tasksPerSecond: number;
}

/** a task per send up to this rate */
const SINGLE_SENDS_PER_SECOND = 100;
/** the fewest tasks a second a fast lane is given */
const MIN_TASKS_PER_SECOND = 10;

/** The lane's tasks a second: its rate, up to 100/s; above, 10,000 / rate but at least 10. */
function taskBudget(perSecond: number): number {
  if (perSecond <= SINGLE_SENDS_PER_SECOND) return perSecond;
  return Math.max(MIN_TASKS_PER_SECOND, (SINGLE_SENDS_PER_SECOND * SINGLE_SENDS_PER_SECOND) / perSecond);
}

/** Every lane the config defines, for the worker to poll. */
export function rateLanes(config: RuntimeConfig, taskQueue: string): RateLane[] {
  const lanes: RateLane[] = [];
  if (config.email?.rate) lanes.push(lane(taskQueue, 'email', config.email.rate));
  if (config.http.rate) lanes.push(lane(taskQueue, 'http', config.http.rate));
  for (const [job, rate] of Object.entries(config.jobs.rates)) lanes.push(lane(taskQueue, `job/${job}`, rate));
  return lanes;
}

/**
 * The lane of one job: its own rate first, then the rate of the provider its capabilities send through
 * (email before http for a job that has both, since one lane carries a job's every send).
 */
export function laneOfJob(
  config: RuntimeConfig,
  taskQueue: string,
  job: { name: string; capabilities: readonly string[] },
): RateLane | undefined {
  const own = Object.prototype.hasOwnProperty.call(config.jobs.rates, job.name) ? config.jobs.rates[job.name] : undefined;
  if (own) return lane(taskQueue, `job/${job.name}`, own);
  if (config.email?.rate && job.capabilities.includes('email.send')) return lane(taskQueue, 'email', config.email.rate);
  if (config.http.rate && job.capabilities.some((c) => c.startsWith('http.'))) return lane(taskQueue, 'http', config.http.rate);
  return undefined;
}

/**
 * How long a send may wait in its worker for the lane's spacing (./pacer.ts), on top of its timeout: a few
 * workers' worth of spacing, never under a few seconds.
 */
export function laneWaitMs(rate: Rate): number {
  return Math.ceil(4 * Math.max(1000, 1000 / rate.perSecond));
}

function lane(taskQueue: string, name: string, rate: Rate): RateLane {
  const perTask = Math.max(1, Math.ceil(rate.perSecond / taskBudget(rate.perSecond)));
  return { name, taskQueue: `${taskQueue}/${name}`, rate, perTask, tasksPerSecond: rate.perSecond / perTask };
}
