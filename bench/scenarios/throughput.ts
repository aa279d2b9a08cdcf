/**
 * Sustained jobs/s: a closed loop of `inFlight` app requests, each committing a ticket and starting its job,
 * then waiting for the job to close; counted over `seconds` after a warm-up. The same loop drives the bare
 * baseline (bench/baseline: the same DB query and SMTP send, no forge-jobs) on the same server, alternating
 * which goes first in each round.
 */
import type { BenchContext, Results } from '../context';
import { insertTicket } from '../context';
import { SOLO_ORG } from '../app';
import { median, nowMs, round, sleep } from '../stats';

export async function throughput(ctx: BenchContext): Promise<Results> {
  const seconds = Number(process.env.BENCH_THROUGHPUT_SECONDS ?? (ctx.quick ? 15 : 60));
  const warmup = ctx.quick ? 3 : 5;
  const inFlight = Number(process.env.BENCH_IN_FLIGHT ?? 32);
  const forge: number[] = [];
  const bare: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < ctx.rounds; r++) {
    const order = r % 2 === 0 ? (['forge', 'baseline'] as const) : (['baseline', 'forge'] as const);
    const got: Record<string, number> = {};
    for (const kind of order) {
      got[kind] = await measure(ctx, kind, inFlight, warmup, seconds, r);
      ctx.log(`throughput round ${r + 1}/${ctx.rounds} ${kind}: ${round(got[kind], 1)} jobs/s (${inFlight} in flight, ${seconds} s)`);
      await sleep(1000);
    }
    forge.push(got.forge);
    bare.push(got.baseline);
    ratios.push(got.forge / got.baseline);
  }
  return {
    jobs_per_s: round(median(forge), 1),
    baseline_jobs_per_s: round(median(bare), 1),
    jobs_ratio: round(median(ratios), 3),
    throughput_seconds: seconds,
    throughput_in_flight: inFlight,
  };
}

async function measure(ctx: BenchContext, kind: 'forge' | 'baseline', inFlight: number, warmup: number, seconds: number, r: number): Promise<number> {
  const start = nowMs();
  const from = start + warmup * 1000;
  const until = from + seconds * 1000;
  let counted = 0;
  let failures = 0;
  let seq = 0;
  const lane = async () => {
    while (nowMs() < until) {
      const ticket = await insertTicket(ctx.pool, SOLO_ORG, `${kind} ${r}.${seq++}`);
      let workflowId: string;
      if (kind === 'forge') {
        const [started] = await ctx.jobs.afterCommit('Ticket', 'create', ticket);
        if (!started) {
          failures++;
          continue;
        }
        workflowId = started.workflowId;
      } else {
        workflowId = `baseline/${ticket.id}`;
        await ctx.temporalClient.workflow.start('baselineJob', {
          workflowId,
          taskQueue: ctx.baselineQueue,
          args: [{ ticketId: ticket.id as number, orgId: ticket.org_id as number, subject: ticket.subject as string }],
        });
      }
      try {
        await ctx.temporalClient.workflow.getHandle(workflowId).result();
      } catch {
        failures++;
        continue;
      }
      const t = nowMs();
      if (t >= from && t < until) counted++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  if (failures > 0) ctx.log(`  ${kind}: ${failures} jobs failed`);
  return counted / seconds;
}
