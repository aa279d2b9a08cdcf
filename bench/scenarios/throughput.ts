/**
 * Sustained jobs/s: a closed loop of `inFlight` app requests, each committing a ticket and starting its job,
 * then waiting for the job to close; counted after a warm-up. The same loop drives the bare baseline
 * (bench/baseline: the same DB query and SMTP send, no forge-jobs) on the same server, in alternating slices.
 */
import type { BenchContext, Results } from '../context';
import { insertTicket } from '../context';
import { SOLO_ORG } from '../app';
import { median, nowMs, round } from '../stats';

export async function throughput(ctx: BenchContext): Promise<Results> {
  const seconds = Number(process.env.BENCH_THROUGHPUT_SECONDS ?? (ctx.quick ? 15 : 60));
  const inFlight = Number(process.env.BENCH_IN_FLIGHT ?? 32);
  // Load from elsewhere drifts over a minute: forge and baseline alternate in short slices, so each pair of
  // slices sees the same machine, and the ratio is the median over pairs.
  const slice = Math.min(seconds, Number(process.env.BENCH_SLICE_SECONDS ?? 10));
  const slices = Math.max(1, Math.round(seconds / slice));
  const warmup = 2;
  const forge: number[] = [];
  const bare: number[] = [];
  const ratios: number[] = [];
  for (let r = 0; r < ctx.rounds; r++) {
    let forgeJobs = 0;
    let bareJobs = 0;
    for (let k = 0; k < slices; k++) {
      const order = (r * slices + k) % 2 === 0 ? (['forge', 'baseline'] as const) : (['baseline', 'forge'] as const);
      const got: Record<string, number> = {};
      for (const kind of order) got[kind] = await measure(ctx, kind, inFlight, warmup, slice, `${r}.${k}`);
      forgeJobs += got.forge * slice;
      bareJobs += got.baseline * slice;
      ratios.push(got.forge / got.baseline);
    }
    forge.push(forgeJobs / (slices * slice));
    bare.push(bareJobs / (slices * slice));
    ctx.log(
      `throughput round ${r + 1}/${ctx.rounds}: forge ${round(forge[r], 1)} jobs/s, baseline ${round(bare[r], 1)} jobs/s ` +
        `(${slices} × ${slice} s each, alternating; ${inFlight} in flight)`,
    );
  }
  return {
    jobs_per_s: round(median(forge), 1),
    baseline_jobs_per_s: round(median(bare), 1),
    jobs_ratio: round(median(ratios), 3),
    throughput_seconds: slices * slice,
    throughput_in_flight: inFlight,
  };
}

async function measure(
  ctx: BenchContext,
  kind: 'forge' | 'baseline',
  inFlight: number,
  warmup: number,
  seconds: number,
  r: string,
): Promise<number> {
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
