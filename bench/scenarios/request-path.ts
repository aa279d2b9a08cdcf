/**
 * The app's request path, three ways side by side, interleaved so each sees the same machine:
 *   commit      BEGIN; INSERT ticket; COMMIT                       (withTransaction, nothing emitted)
 *   afterCommit the same, then afterCommit: match hooks, start the workflow (one start RPC)
 *   outbox      the same, with the outbox row written inside the transaction (withTransaction { outbox: true }),
 *               sent in the COMMIT's round trip
 * and two what-ifs that say where the outbox's extra time goes (not forge-jobs' code paths):
 *   with_select a `SELECT 1` sent with the COMMIT the same way: the price of the pipelined statement alone
 *   row_only    the outbox row without its NOTIFY: the price of the row itself
 * No worker polls the task queue used here, so the figures are the request path alone.
 */
import { createJobClient } from '../../src';
import { OUTBOX_TABLE } from '../../src/outbox';
import { inTransaction } from '../../src/postgres/transaction';
import { INSERT_OUTBOX_SQL } from '../../src/sql/outbox';
import { migrate } from '../../src/sql/migrations';
import type { BenchContext, Results } from '../context';
import { median, nowMs, percentile, round } from '../stats';

type Variant = 'commit' | 'after_commit' | 'outbox' | 'with_select' | 'row_only';
const VARIANTS: Variant[] = ['commit', 'after_commit', 'outbox', 'with_select', 'row_only'];
const INSERT_TICKET = 'INSERT INTO tickets (org_id, subject, body) VALUES ($1, $2, $3) RETURNING *';

export async function requestPath(ctx: BenchContext): Promise<Results> {
  await migrate(ctx.pool);
  const jobs = createJobClient({ artifact: ctx.artifact, config: ctx.config, taskQueue: `bench-request-path-idle`, logger: silent });
  const n = ctx.quick ? 60 : 300;
  const perRound: Array<Record<Variant, number[]>> = [];
  try {
    for (let r = 0; r < ctx.rounds; r++) {
      const times = Object.fromEntries(VARIANTS.map((v) => [v, [] as number[]])) as Record<Variant, number[]>;
      for (let i = -20; i < n; i++) {
        // rotate the order so no variant always runs right after another
        for (let k = 0; k < VARIANTS.length; k++) {
          const variant = VARIANTS[(i + 20 + k) % VARIANTS.length];
          const values = [1, `rp ${variant} ${r}.${i}`, 'bench'];
          const t0 = nowMs();
          if (variant === 'with_select' || variant === 'row_only') {
            await inTransaction(
              ctx.pool,
              async (tx) => (await tx.query(INSERT_TICKET, values)).rows[0],
              (row) => [variant === 'with_select' ? { text: 'SELECT 1', values: [] } : { text: INSERT_OUTBOX_SQL, values: [`what-if-${r}.${i}`, 'Ticket', 'create', JSON.stringify(row)] }],
            );
          } else {
            await jobs.withTransaction(
              ctx.pool,
              async (tx, emit) => {
                const { rows } = await tx.query(INSERT_TICKET, values);
                if (variant !== 'commit') emit('Ticket', 'create', rows[0]);
              },
              { outbox: variant === 'outbox' },
            );
          }
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
    outbox_what_if_select_ratio: ratio('with_select'),
    outbox_what_if_row_only_ratio: ratio('row_only'),
    after_commit_ratio: ratio('after_commit'),
    outbox_ratio: ratio('outbox'),
    request_path_samples: n,
  };
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };
