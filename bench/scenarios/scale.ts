/**
 * Fan-out at scale, email to every recipient of a campaign through the courier and the SMTP sink:
 *   fanout_100k_s / _effects_per_s   100,000 targets, afterCommit → the job's result, each address once
 *   fanout_100k_all_fail_dead_s      the same job while the sink answers 451 to every RCPT: start → `dead`,
 *                                     beside fanout_100k_all_fail_backoff_s, the backoff it waits by design
 *   fanout_1m_s                      1,000,000 targets (BENCH_FANOUT_1M=1; =only for this run alone)
 *   BENCH_SCALE=all-fail             only the all-fail run
 *   fanout_max_history_events        the largest execution (job, part, continued-as-new run) of those runs
 */
import type { Client } from '@temporalio/client';
import { CAMPAIGN_TARGETS } from '../app';
import type { BenchContext, Results } from '../context';
import { cpuPerUnitMs, cpuSnapshot } from '../cpu';
import { nowMs, round } from '../stats';

const ONE_MILLION = 1_000_000;

export async function scale(ctx: BenchContext): Promise<Results> {
  const results: Results = {};
  let maxEvents = 0;
  const cpuPerTarget: Record<string, number> = {};
  const run = async (campaign: number, targets: number, label: string, expect: 'completed' | 'dead') => {
    ctx.smtp.reset();
    const {
      rows: [row],
    } = await ctx.pool.query('SELECT * FROM campaigns WHERE id = $1', [campaign]);
    const cpu0 = cpuSnapshot();
    const t0 = nowMs();
    const [started] = await ctx.jobs.afterCommit('Campaign', 'update', row, { eventId: `bench-scale-${label}-${process.pid}` });
    if (!started) throw new Error('afterCommit started no campaign job');
    const handle = ctx.temporalClient.workflow.getHandle(started.workflowId);
    let state = 'completed';
    try {
      await handle.result();
    } catch {
      state = 'dead';
    }
    const wall = (nowMs() - t0) / 1000;
    const cpu = cpuPerUnitMs(cpu0, cpuSnapshot(), targets);
    cpuPerTarget[label] = cpu.total;
    if (state !== expect) throw new Error(`${label}: the job ended ${state}, expected ${expect}`);
    const histories = await historySizes(ctx.temporalClient, started.workflowId);
    const largest = Math.max(...histories.map((h) => h.events));
    maxEvents = Math.max(maxEvents, largest);
    const delivered = ctx.smtp.distinctRecipients();
    ctx.log(
      `${label}: ${targets} targets ${state} in ${round(wall, 1)} s (${round(targets / wall, 0)} targets/s); ${delivered} distinct addresses mailed, ` +
        `${ctx.smtp.rcptAttempts()} RCPT attempts; ${histories.length} executions, largest ${largest} events; CPU ms per target ${JSON.stringify(cpu)}`,
    );
    if (expect === 'completed' && delivered !== targets) throw new Error(`${label}: ${delivered} of ${targets} addresses mailed`);
    return wall;
  };

  if (process.env.BENCH_FANOUT_1M !== 'only') {
    if (process.env.BENCH_SCALE !== 'all-fail') {
      const wall = await run(1, CAMPAIGN_TARGETS, '100k', 'completed');
      results.fanout_100k_s = round(wall, 1);
      results.fanout_100k_effects_per_s = round(CAMPAIGN_TARGETS / wall, 0);
      results.fanout_100k_cpu_ms_per_effect = cpuPerTarget['100k'];
    }
    ctx.smtp.refuseAll(451);
    try {
      results.fanout_100k_all_fail_dead_s = round(await run(1, CAMPAIGN_TARGETS, '100k-all-fail', 'dead'), 1);
    } finally {
      ctx.smtp.refuseAll(null);
    }
    // Rounds wait for the longest backoff of their failed targets: attempt² s plus up to 25% jitter.
    const attempts = ctx.config.jobs.maxAttempts;
    results.fanout_100k_all_fail_backoff_s = round(
      Array.from({ length: attempts - 1 }, (_, i) => (i + 1) ** 2 * 1.25).reduce((a, b) => a + b, 0),
      1,
    );
  }

  if (process.env.BENCH_FANOUT_1M === '1' || process.env.BENCH_FANOUT_1M === 'only') {
    await ctx.pool.query(
      `INSERT INTO recipients (campaign_id, email) SELECT 2, 'm' || g || '@campaign.bench.test' FROM generate_series(1, ${ONE_MILLION}) g`,
    );
    await ctx.pool.query('ANALYZE recipients');
    results.fanout_1m_s = round(await run(2, ONE_MILLION, '1m', 'completed'), 1);
  }
  results.fanout_max_history_events = maxEvents;
  return results;
}

/** Events of every execution of a job: its run and each run of its parts (continued-as-new runs included). */
async function historySizes(client: Client, workflowId: string): Promise<Array<{ id: string; events: number }>> {
  const runs: Array<{ id: string; runId: string }> = [];
  const job = await client.workflow.getHandle(workflowId).describe();
  runs.push({ id: workflowId, runId: job.runId });
  // Visibility lags the close of the last part by a moment: wait until it lists every part's last run closed.
  for (let tries = 0; tries < 50; tries++) {
    const parts: Array<{ id: string; runId: string; open: boolean }> = [];
    for await (const info of client.workflow.list({
      query: `WorkflowId STARTS_WITH "${workflowId}/part-" AND StartTime >= "${job.startTime.toISOString()}"`,
    })) {
      parts.push({ id: info.workflowId, runId: info.runId, open: info.status.name === 'RUNNING' });
    }
    if (!parts.some((p) => p.open) || tries === 49) {
      runs.push(...parts);
      break;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  const sizes: Array<{ id: string; events: number }> = [];
  for (const run of runs) {
    const history = await client.workflow.getHandle(run.id, run.runId).fetchHistory();
    sizes.push({ id: run.id, events: history.events?.length ?? 0 });
  }
  return sizes;
}
