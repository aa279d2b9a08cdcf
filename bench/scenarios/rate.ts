/**
 * A campaign (mail_campaign) under `[email] rate = "1000/s"` with two workers on the lane: the wall time from afterCommit to the
 * job's result (goal: within 10 % of targets / rate) and the most mails the SMTP sink accepted in any
 * 1-second window, as a ratio of the rate (`rate_overshoot_max`). The workers are processes of their own
 * on a task queue of their own, so the other scenarios' worker takes no part.
 */
import type { BenchContext, Results } from '../context';
import { busiestWindow } from '../../test/support/sinks';
import { cpuPerUnitMs, cpuSnapshot } from '../cpu';
import { round } from '../stats';
import { createJobClient, resolveRuntimeConfig } from '../../src';

const QUEUE = 'bench-rate';

export async function rate(ctx: BenchContext): Promise<Results> {
  const targets = Number(process.env.BENCH_RATE_TARGETS ?? (ctx.quick ? 5_000 : 100_000));
  const perSecond = Number(process.env.BENCH_RATE_PER_S ?? 1000);
  const raw = ctx.rawConfig({ taskQueue: QUEUE });
  const rated = { ...raw, email: { ...raw.email, rate: `${perSecond}/s` } };
  const {
    rows: [campaign],
  } = await ctx.pool.query<Record<string, unknown>>("INSERT INTO campaigns (title) VALUES ('rated') RETURNING *");
  await ctx.pool.query(
    `INSERT INTO recipients (campaign_id, email) SELECT $1, 'rated' || g || '@rate.bench.test' FROM generate_series(1, $2) g`,
    [campaign.id, targets],
  );
  // as an app's autovacuum would after a bulk import (the scale scenario's 1M list is analyzed too)
  await ctx.pool.query('ANALYZE recipients');
  const workers = [await ctx.startForgeWorker('rate worker 1', rated), await ctx.startForgeWorker('rate worker 2', rated)];
  try {
    await ctx.lanePollers(`${QUEUE}/email`, 2);
    const config = resolveRuntimeConfig(rated, { environment: 'bench', env: {} });
    const jobs = createJobClient({ artifact: ctx.artifact, config, logger: { debug() {}, info() {}, warn() {}, error() {} } });
    try {
      const stop = ctx.smtp.record();
      const cpu0 = cpuSnapshot();
      const t0 = Date.now();
      const [started] = await jobs.afterCommit('Campaign', 'update', campaign);
      if (!started) throw new Error('afterCommit started no rate-limited job');
      const result = (await ctx.temporalClient.workflow.getHandle(started.workflowId).result()) as { completed: number };
      const seconds = (Date.now() - t0) / 1000;
      const times = stop();
      const cpu = cpuPerUnitMs(cpu0, cpuSnapshot(), targets);
      if (result.completed !== targets) throw new Error(`rate: ${result.completed} of ${targets} completed`);
      const busiest = busiestWindow(times, 1000);
      ctx.log(
        `rate: ${targets} mails at ${perSecond}/s in ${round(seconds, 1)} s (ideal ${round(targets / perSecond, 1)} s); busiest second ${busiest} mails (${round(busiest / perSecond, 2)}× the rate); CPU ms per mail ${JSON.stringify(cpu)}`,
      );
      return {
        rate_limited_s: round(seconds, 1),
        // the goal's figure, named for its size
        ...(targets === 100_000 && { rate_limited_100k_s: round(seconds, 1) }),
        rate_limited_targets: targets,
        rate_limited_per_s: perSecond,
        rate_limited_ideal_s: round(targets / perSecond, 1),
        rate_overshoot_max: round(busiest / perSecond, 3),
        rate_cpu_ms_per_send: cpu.total,
      };
    } finally {
      await jobs.close();
    }
  } finally {
    await Promise.all(workers.map((w) => w.stop()));
  }
}
