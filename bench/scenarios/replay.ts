/**
 * Replay throughput of `forge-jobs replay --from-server`: the latest closed job histories of the bench's task
 * queue (topped up with fresh jobs when earlier scenarios left too few), streamed from the server and
 * replayed against the checkout's workflow code. The time includes bundling the workflow code once.
 */
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { replayFromServer } from '../../src/replay/from-server';
import { jobQuery, quote } from '../../src/visibility';
import { SOLO_ORG } from '../app';
import type { BenchContext, Results } from '../context';
import { insertTicket } from '../context';
import { round } from '../stats';

export async function replay(ctx: BenchContext): Promise<Results> {
  const histories = Number(process.env.BENCH_REPLAY_HISTORIES ?? (ctx.quick ? 100 : 1000));
  const query = jobQuery(ctx.config.jobs.taskQueue, `ExecutionStatus != ${quote('Running')}`);
  const { count } = await ctx.temporalClient.workflow.count(query);
  if (count < histories) await runJobs(ctx, histories - count);
  await waitForCount(ctx, query, histories);
  quietReplayWorkers();
  const summary = await replayFromServer({
    client: ctx.temporalClient,
    workflowsPath: require.resolve('../../src/workflows'),
    query,
    limit: histories,
    parallel: Number(process.env.BENCH_REPLAY_PARALLEL ?? 4),
  });
  const perMinute = round((summary.replayed / summary.seconds) * 60, 0);
  ctx.log(`replay: ${summary.replayed} histories (${summary.failed} failed) in ${round(summary.seconds, 1)} s = ${perMinute}/min`);
  return {
    replay_histories: summary.replayed,
    replay_failed: summary.failed,
    replay_s: round(summary.seconds, 1),
    replay_histories_per_min: perMinute,
  };
}

async function runJobs(ctx: BenchContext, n: number): Promise<void> {
  ctx.log(`replay: running ${n} jobs to have histories to replay…`);
  let next = 0;
  const lane = async () => {
    while (next < n) {
      const ticket = await insertTicket(ctx.pool, SOLO_ORG, `replay ${next++}`);
      const [started] = await ctx.jobs.afterCommit('Ticket', 'create', ticket);
      if (started)
        await ctx.temporalClient.workflow
          .getHandle(started.workflowId)
          .result()
          .catch(() => undefined);
    }
  };
  await Promise.all(Array.from({ length: 32 }, lane));
}

/** Visibility catches up with closed runs a moment after they close. */
async function waitForCount(ctx: BenchContext, query: string, n: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if ((await ctx.temporalClient.workflow.count(query)).count >= n) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Replay workers log each start and stop at INFO; the bench prints its own line. */
function quietReplayWorkers(): void {
  try {
    Runtime.install({ logger: new DefaultLogger('WARN') });
  } catch {
    // a runtime is installed already: its logger stays
  }
}
