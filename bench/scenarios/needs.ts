/**
 * Needs resolution over 10,000 rows and 4 hops (region_agents: Ticket.org.region.orgs.members where role ==
 * "agent"), as the resolveTargets activity runs it: statements counted at the pool, latency per resolution.
 */
import { resolveNeeds } from '../../src/needs';
import type { BenchContext, Results } from '../context';
import { insertTicket } from '../context';
import { REGION_ORG } from '../app';
import { median, nowMs, percentile, round } from '../stats';

export async function needs(ctx: BenchContext): Promise<Results> {
  const job = ctx.artifact.jobs.region_agents;
  const hops = job.needs.reduce((n, path) => n + path.hops.length, 0);
  const ticket = await insertTicket(ctx.pool, REGION_ORG, 'needs');
  const n = ctx.quick ? 20 : 100;
  let statements = 0;
  const query = async (text: string, values: unknown[]) => {
    statements++;
    return (await ctx.pool.query(text, values)).rows;
  };
  const p50s: number[] = [];
  const p99s: number[] = [];
  let targets = 0;
  let perResolution = 0;
  for (let r = 0; r < ctx.rounds; r++) {
    const times: number[] = [];
    statements = 0;
    for (let i = -3; i < n; i++) {
      if (i === 0) statements = 0;
      const t0 = nowMs();
      const resolved = await resolveNeeds({ query, artifact: ctx.artifact, job, record: ticket });
      if (i >= 0) times.push(nowMs() - t0);
      targets = resolved.targets.length;
    }
    perResolution = statements / n;
    p50s.push(median(times));
    p99s.push(percentile(times, 99));
    ctx.log(
      `needs round ${r + 1}/${ctx.rounds}: ${hops} hops, ${perResolution} queries per resolution, ${targets} targets, p50 ${round(median(times))} ms`,
    );
  }
  const {
    rows: [{ count }],
  } = await ctx.pool.query('SELECT count(*)::int AS count FROM members WHERE org_id IN (SELECT id FROM orgs WHERE region_id = 2)');
  return {
    needs_hops: hops,
    needs_queries_per_resolution: perResolution,
    needs_p50_ms: round(median(p50s)),
    needs_p99_ms: round(median(p99s)),
    needs_rows: count,
    needs_targets: targets,
  };
}
