/**
 * Commit → SMTP accepted, one target: the clock starts when COMMIT returns, just before afterCommit, and
 * stops when the sink answers 250 to the message's DATA. One event at a time on an idle worker.
 */
import type { BenchContext, Results } from '../context';
import { insertTicket } from '../context';
import { SOLO_AGENT, SOLO_ORG } from '../app';
import { median, nowMs, percentile, round } from '../stats';

export async function smtpLatency(ctx: BenchContext): Promise<Results> {
  const n = ctx.quick ? 30 : 100;
  const p50s: number[] = [];
  const p99s: number[] = [];
  for (let r = 0; r < ctx.rounds; r++) {
    const times: number[] = [];
    for (let i = -5; i < n; i++) {
      const accepted = ctx.smtp.acceptedFor(SOLO_AGENT, 30_000);
      const ticket = await insertTicket(ctx.pool, SOLO_ORG, `latency ${r}.${i}`);
      const t0 = nowMs();
      const [started] = await ctx.jobs.afterCommit('Ticket', 'create', ticket);
      if (!started) throw new Error('afterCommit started nothing');
      const t1 = await accepted;
      if (i >= 0) times.push(t1 - t0);
      // let the job finish before the next event, so each one meets an idle worker
      await ctx.temporalClient.workflow.getHandle(started.workflowId).result();
      if (i === n - 1 && r === ctx.rounds - 1)
        ctx.log(`  where the time goes (last job, ms after its start): ${await timeline(ctx, started.workflowId)}`);
    }
    p50s.push(median(times));
    p99s.push(percentile(times, 99));
    ctx.log(`commit → SMTP round ${r + 1}/${ctx.rounds}: p50 ${round(median(times))} ms, p99 ${round(percentile(times, 99))} ms`);
  }
  return { commit_to_smtp_p50_ms: round(median(p50s)), commit_to_smtp_p99_ms: round(median(p99s)), commit_to_smtp_samples: n };
}

/** The job's history as "event +ms" steps: which hop of the path costs what. */
async function timeline(ctx: BenchContext, workflowId: string): Promise<string> {
  const history = await ctx.temporalClient.workflow.getHandle(workflowId).fetchHistory();
  const events = history.events ?? [];
  const ms = (e: (typeof events)[number]) => Number(e.eventTime?.seconds ?? 0) * 1000 + (e.eventTime?.nanos ?? 0) / 1e6;
  const t0 = events.length > 0 ? ms(events[0]) : 0;
  const short = (type: unknown) =>
    String(type)
      .replace(/^EVENT_TYPE_/, '')
      .toLowerCase()
      .replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
  return events.map((e) => `${short(eventTypeName(e.eventType))} +${Math.round(ms(e) - t0)}`).join(', ');
}

function eventTypeName(type: unknown): string {
  if (typeof type === 'string') return type;
  const { temporal } = require('@temporalio/proto');
  return temporal.api.enums.v1.EventType[type as number] ?? String(type);
}
