/**
 * Job counters on the worker's Prometheus endpoint (beside Temporal's own runtime metrics), recorded through
 * the activity context's metric meter. Counters are per worker process and reset when it restarts; the
 * durable numbers are `createJobInspector(…).stats()`, which reads Temporal's visibility.
 */
import { Context } from '@temporalio/activity';
import type { MetricCounter, MetricMeter, MetricTags } from '@temporalio/common';

export const JOB_COUNTERS = {
  started: ['forge_jobs_started', 'job runs that began resolving their targets'],
  completed: ['forge_jobs_completed', 'job runs completed'],
  dead: ['forge_jobs_dead', 'job runs dead (permanent error, retries exhausted, sandbox, needs resolution)'],
  retried: ['forge_jobs_effect_retries', 'effect attempts that failed and will be retried'],
  sandbox: ['forge_jobs_sandbox_violations', 'effects refused by the capability sandbox'],
} as const;

export type JobCounter = keyof typeof JOB_COUNTERS;

const counters = new WeakMap<MetricMeter, Map<JobCounter, MetricCounter>>();

/** Adds 1 to a job counter; outside an activity (unit tests) it does nothing. Never throws. */
export function countJob(name: JobCounter, tags: MetricTags = {}): void {
  try {
    const meter = Context.current().metricMeter;
    let byName = counters.get(meter);
    if (!byName) counters.set(meter, (byName = new Map()));
    let counter = byName.get(name);
    if (!counter) {
      const [metric, description] = JOB_COUNTERS[name];
      counter = meter.createCounter(metric, '1', description);
      byName.set(name, counter);
    }
    counter.add(1, tags);
  } catch {
    // no activity context, or no metrics: a counter is never worth failing a job
  }
}
