/**
 * One job fanning out to 10,000 targets (ping_subscribers: one http.post per subscriber): wall time from
 * afterCommit to the job's result, effects/s, and history lengths (the job's own, and its largest child).
 * Every target must have been posted exactly once (distinct Idempotency-Keys). With BENCH_BASELINE_FANOUT=1
 * (default in a full run) a bare workflow posts the same 10,000 targets, one activity each, for comparison.
 */
import type { BenchContext, Results } from '../context';
import { FANOUT_TARGETS } from '../app';
import { median, nowMs, round } from '../stats';

export async function fanout(ctx: BenchContext): Promise<Results> {
  const walls: number[] = [];
  let historyEvents = 0;
  let childEventsMax = 0;
  let children = 0;
  const {
    rows: [list],
  } = await ctx.pool.query('SELECT * FROM lists WHERE id = 1');
  for (let r = 0; r < ctx.rounds; r++) {
    ctx.http.reset();
    const t0 = nowMs();
    const [started] = await ctx.jobs.afterCommit('List', 'update', list, { eventId: `bench-fanout-${process.pid}-${r}` });
    if (!started) throw new Error('afterCommit started no fan-out job');
    const handle = ctx.temporalClient.workflow.getHandle(started.workflowId);
    const result = (await handle.result()) as { completed: number; targets: number };
    const wall = (nowMs() - t0) / 1000;
    walls.push(wall);
    if (result.completed !== FANOUT_TARGETS || ctx.http.distinct() !== FANOUT_TARGETS) {
      throw new Error(`fan-out: ${result.completed} completed, ${ctx.http.distinct()} distinct posts, expected ${FANOUT_TARGETS}`);
    }
    const duplicates = ctx.http.requests() - ctx.http.distinct();
    const parent = await handle.fetchHistory();
    historyEvents = parent.events?.length ?? 0;
    children = 0;
    childEventsMax = 0;
    // Activities by type over the children: one runEffect per target, or runEffects batches (plus a runEffect
    // for each target retried alone), so the log says which path was measured.
    const activities: Record<string, number> = {};
    for (; ; children++) {
      try {
        const child = await ctx.temporalClient.workflow.getHandle(`${started.workflowId}/part-${children}`).fetchHistory();
        childEventsMax = Math.max(childEventsMax, child.events?.length ?? 0);
        for (const e of child.events ?? []) {
          const name = e.activityTaskScheduledEventAttributes?.activityType?.name;
          if (name) activities[name] = (activities[name] ?? 0) + 1;
        }
      } catch {
        break;
      }
    }
    ctx.log(
      `fan-out round ${r + 1}/${ctx.rounds}: ${FANOUT_TARGETS} targets in ${round(wall, 1)} s (${round(FANOUT_TARGETS / wall, 0)} effects/s), ` +
        `history ${historyEvents} events, ${children} children (largest ${childEventsMax} events, activities ${JSON.stringify(activities)}), ${duplicates} duplicate posts`,
    );
  }
  const results: Results = {
    fanout_10k_s: round(median(walls), 1),
    fanout_effects_per_s: round(FANOUT_TARGETS / median(walls), 0),
    fanout_history_events: historyEvents,
    fanout_children: children,
    fanout_child_history_events_max: childEventsMax,
  };
  if ((process.env.BENCH_BASELINE_FANOUT ?? (ctx.quick ? '0' : '1')) === '1') {
    // bare Temporal on the same server: one activity per target, then 10 targets per activity
    for (const batch of [1, 10]) {
      ctx.http.reset();
      const concurrency = Number(process.env.BENCH_BASELINE_FANOUT_CONCURRENCY ?? 200) / batch;
      const t0 = nowMs();
      await ctx.temporalClient.workflow.execute('baselineFanout', {
        workflowId: `baseline-fanout-${process.pid}-${batch}`,
        taskQueue: ctx.baselineQueue,
        args: [{ targets: FANOUT_TARGETS, concurrency, url: ctx.http.url, batch }],
      });
      const wall = (nowMs() - t0) / 1000;
      results[batch === 1 ? 'baseline_fanout_activities_per_s' : `baseline_fanout_batch${batch}_targets_per_s`] = round(
        FANOUT_TARGETS / wall,
        0,
      );
      ctx.log(
        `bare workflow, ${batch} target(s) per activity: ${FANOUT_TARGETS} targets in ${round(wall, 1)} s (${round(FANOUT_TARGETS / wall, 0)} targets/s, ${concurrency} activities in flight)`,
      );
    }
  }
  return results;
}
