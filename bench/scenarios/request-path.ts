/**
 * The app's request path, four ways side by side, interleaved so each sees the same machine:
 *   commit           BEGIN; INSERT ticket; COMMIT                       (withTransaction, nothing emitted)
 *   after_commit     the same, then its jobs started (withTransaction: one start RPC, within the deadline)
 *   after_commit_down the same with a Temporal that accepts connections and never answers: the first request
 *                    waits out the start deadline, then the breaker hands events to the outbox at once
 *   outbox           the same, with the outbox row sent in the COMMIT's round trip (withTransaction
 *                    { outbox: true }); this process starts the row's jobs right after COMMIT, in the background
 * and, for the outbox, the time from COMMIT returning to Temporal accepting the start (commit → start).
 * No worker polls the task queue used here, so the figures are the request path alone.
 */
import { createJobClient } from '../../src';
import { OUTBOX_TABLE } from '../../src/outbox';
import { migrate } from '../../src/sql/migrations';
import type { BenchContext, Results } from '../context';
import { startHungServer } from '../../test/support/sinks';
import { median, nowMs, percentile, round } from '../stats';

type Variant = 'commit' | 'after_commit' | 'after_commit_down' | 'outbox';
const VARIANTS: Variant[] = ['commit', 'after_commit', 'after_commit_down', 'outbox'];
const INSERT_TICKET = 'INSERT INTO tickets (org_id, subject, body) VALUES ($1, $2, $3) RETURNING *';
const IDLE_QUEUE = 'bench-request-path-idle';

export async function requestPath(ctx: BenchContext): Promise<Results> {
  await migrate(ctx.pool);
  // When Temporal accepted each start: the job.enqueued line, keyed by the ticket id in its workflow id.
  const acceptedAt = new Map<string, number>();
  const timing = {
    ...silent,
    debug(event: string, fields: Record<string, unknown> = {}) {
      if (event === 'job.enqueued') acceptedAt.set(String(fields.job_id).split('/')[4], nowMs());
    },
  };
  const jobs = createJobClient({ artifact: ctx.artifact, config: ctx.config, taskQueue: IDLE_QUEUE, logger: timing, database: ctx.pool });
  const hung = await startHungServer();
  const down = createJobClient({
    artifact: ctx.artifact,
    config: ctx.config,
    taskQueue: IDLE_QUEUE,
    logger: silent,
    temporal: { address: hung.address },
    database: ctx.pool,
  });
  const n = ctx.quick ? 60 : 300;
  const perRound: Array<Record<Variant, number[]> & { commit_to_start: number[] }> = [];
  try {
    for (let r = 0; r < ctx.rounds; r++) {
      const times = {
        ...(Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>),
        commit_to_start: [] as number[],
      };
      const committedAt = new Map<string, number>();
      for (let i = -20; i < n; i++) {
        // rotate the order so no variant always runs right after another
        for (let k = 0; k < VARIANTS.length; k++) {
          const variant = VARIANTS[(i + 20 + k) % VARIANTS.length];
          const values = [1, `rp ${variant} ${r}.${i}`, 'bench'];
          const client = variant === 'after_commit_down' ? down : jobs;
          const t0 = nowMs();
          const ticket = await client.withTransaction(
            ctx.pool,
            async (tx, emit) => {
              const { rows } = await tx.query(INSERT_TICKET, values);
              if (variant !== 'commit') emit('Ticket', 'create', rows[0]);
              return rows[0] as { id: unknown };
            },
            { outbox: variant === 'outbox' },
          );
          const t1 = nowMs();
          if (i >= 0) {
            times[variant].push(t1 - t0);
            if (variant === 'outbox') committedAt.set(String(ticket.id), t1);
          }
        }
      }
      // the outbox rows' starts run in the background after each COMMIT: wait for them (bounded)
      const until = nowMs() + 30_000;
      while ([...committedAt.keys()].some((id) => !acceptedAt.has(id)) && nowMs() < until)
        await new Promise((resolve) => setTimeout(resolve, 50));
      for (const [id, t] of committedAt) {
        const accepted = acceptedAt.get(id);
        if (accepted !== undefined) times.commit_to_start.push(accepted - t);
      }
      perRound.push(times);
      ctx.log(
        `request path round ${r + 1}/${ctx.rounds}: p50 commit ${round(median(times.commit))} ms, afterCommit ${round(median(times.after_commit))} ms (Temporal down ${round(median(times.after_commit_down))} ms), outbox ${round(median(times.outbox))} ms, commit → start ${round(median(times.commit_to_start))} ms`,
      );
    }
  } finally {
    await Promise.all([jobs.close(), down.close()]);
    await hung.close();
  }
  // the rows and workflows are for a queue nobody polls: keep the worker that starts next from running them
  await ctx.pool.query(`DELETE FROM ${OUTBOX_TABLE}`);
  const stat = (v: Variant | 'commit_to_start', p: number) => round(median(perRound.map((t) => percentile(t[v], p))));
  const ratio = (v: Variant) => round(median(perRound.map((t) => median(t[v]) / median(t.commit))), 3);
  return {
    commit_p50_ms: stat('commit', 50),
    commit_p99_ms: stat('commit', 99),
    after_commit_p50_ms: stat('after_commit', 50),
    after_commit_p99_ms: stat('after_commit', 99),
    after_commit_p50_ms_temporal_down: stat('after_commit_down', 50),
    after_commit_p99_ms_temporal_down: stat('after_commit_down', 99),
    after_commit_max_ms_temporal_down: round(median(perRound.map((t) => Math.max(...t.after_commit_down)))),
    outbox_p50_ms: stat('outbox', 50),
    outbox_p99_ms: stat('outbox', 99),
    outbox_commit_to_start_p50_ms: stat('commit_to_start', 50),
    outbox_commit_to_start_p99_ms: stat('commit_to_start', 99),
    after_commit_ratio: ratio('after_commit'),
    outbox_ratio: ratio('outbox'),
    request_path_samples: n,
  };
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };
