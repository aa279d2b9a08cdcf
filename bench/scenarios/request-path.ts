/**
 * The app's request path, three ways side by side, interleaved so each sees the same machine:
 *   commit      BEGIN; INSERT ticket; COMMIT                       (withTransaction, nothing emitted)
 *   afterCommit the same, then afterCommit: match hooks, start the workflow (one start RPC)
 *   outbox      the same, with the outbox row written inside the transaction (withTransaction { outbox: true })
 * No worker polls the task queue used here, so the figures are the request path alone.
 */
import { createJobClient } from '../../src';
import { OUTBOX_CHANNEL, OUTBOX_TABLE } from '../../src/outbox';
import { deriveEventId } from '../../src/client/ids';
import { migrate } from '../../src/sql/migrations';
import type { BenchContext, Results } from '../context';
import { median, nowMs, percentile, round } from '../stats';

type Variant = 'commit' | 'after_commit' | 'outbox' | 'outbox_one_statement';
const VARIANTS: Variant[] = ['commit', 'after_commit', 'outbox', 'outbox_one_statement'];

/**
 * What-if, not forge-jobs' code: the outbox row and its NOTIFY in one statement (one round trip instead of
 * the two insertOutboxRow makes), to size that change.
 */
const ONE_STATEMENT_OUTBOX_SQL = `
  WITH row AS (INSERT INTO ${OUTBOX_TABLE} (event_id, entity, operation, record) VALUES ($1, $2, $3, $4::jsonb) RETURNING id)
  SELECT id::text AS id, pg_notify('${OUTBOX_CHANNEL}', '') FROM row`;

export async function requestPath(ctx: BenchContext): Promise<Results> {
  await migrate(ctx.pool);
  const jobs = createJobClient({ artifact: ctx.artifact, config: ctx.config, taskQueue: `bench-request-path-idle`, logger: silent });
  const n = ctx.quick ? 60 : 300;
  const perRound: Array<Record<Variant, number[]>> = [];
  try {
    for (let r = 0; r < ctx.rounds; r++) {
      const times: Record<Variant, number[]> = { commit: [], after_commit: [], outbox: [], outbox_one_statement: [] };
      for (let i = -20; i < n; i++) {
        // rotate the order so no variant always runs right after another
        for (let k = 0; k < VARIANTS.length; k++) {
          const variant = VARIANTS[(i + 20 + k) % VARIANTS.length];
          const t0 = nowMs();
          await jobs.withTransaction(
            ctx.pool,
            async (tx, emit) => {
              const { rows } = await tx.query('INSERT INTO tickets (org_id, subject, body) VALUES ($1, $2, $3) RETURNING *', [1, `rp ${variant} ${r}.${i}`, 'bench']);
              if (variant === 'outbox_one_statement') {
                await tx.query(ONE_STATEMENT_OUTBOX_SQL, [deriveEventId('Ticket', 'create', rows[0]), 'Ticket', 'create', JSON.stringify(rows[0])]);
              } else if (variant !== 'commit') emit('Ticket', 'create', rows[0]);
            },
            { outbox: variant === 'outbox' },
          );
          if (i >= 0) times[variant].push(nowMs() - t0);
        }
      }
      perRound.push(times);
      ctx.log(
        `request path round ${r + 1}/${ctx.rounds}: p50 commit ${round(median(times.commit))} ms, afterCommit ${round(median(times.after_commit))} ms, outbox ${round(median(times.outbox))} ms`,
      );
    }
  } finally {
    await jobs.close();
  }
  // the rows are for the relay of nobody: keep the worker that starts next from running them
  await ctx.pool.query(`DELETE FROM ${OUTBOX_TABLE}`);
  const stat = (v: Variant, p: number) => round(median(perRound.map((t) => percentile(t[v], p))));
  const ratio = (v: Variant) => round(median(perRound.map((t) => median(t[v]) / median(t.commit))), 3);
  return {
    commit_p50_ms: stat('commit', 50),
    commit_p99_ms: stat('commit', 99),
    after_commit_p50_ms: stat('after_commit', 50),
    after_commit_p99_ms: stat('after_commit', 99),
    outbox_p50_ms: stat('outbox', 50),
    outbox_p99_ms: stat('outbox', 99),
    after_commit_ratio: ratio('after_commit'),
    outbox_ratio: ratio('outbox'),
    outbox_one_statement_p50_ms: stat('outbox_one_statement', 50),
    outbox_one_statement_ratio: ratio('outbox_one_statement'),
    request_path_samples: n,
  };
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };
