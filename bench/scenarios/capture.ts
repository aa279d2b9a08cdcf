/**
 * The write path's cost of database capture, side by side on two tables shaped like the app's tickets, one
 * with the capture trigger and one without, interleaved so each sees the same machine:
 *   insert  one INSERT on its own (autocommit, as any app or psql sends it): p50 with capture / without
 *   bulk    one INSERT … SELECT of 10,000 rows (1,000 when quick): time with capture / without
 * The captured rows go to the outbox as events; no relay runs here, and they are deleted afterwards.
 */
import { OUTBOX_TABLE } from '../../src/outbox';
import { captureDefinition } from '../../src/sql/capture';
import { migrate } from '../../src/sql/migrations';
import type { BenchContext, Results } from '../context';
import { median, nowMs, percentile, round } from '../stats';

const ON = 'bench_capture_on';
const OFF = 'bench_capture_off';

export async function captureCost(ctx: BenchContext): Promise<Results> {
  await migrate(ctx.pool);
  for (const t of [ON, OFF]) await ctx.pool.query(`DROP TABLE IF EXISTS ${t}; CREATE TABLE ${t} (LIKE tickets INCLUDING ALL)`);
  const definition = captureDefinition(
    { entity: 'BenchCapture', operation: 'create', table: ON },
    ctx.config.jobs.maxRecordBytes ?? 256 * 1024,
  );
  for (const sql of definition.install) await ctx.pool.query(sql);
  const n = ctx.quick ? 100 : 1000;
  const bulkRows = ctx.quick ? 1000 : 10000;
  const bulkRuns = ctx.quick ? 2 : 5;
  const insertRatios: number[] = [];
  const bulkRatios: number[] = [];
  const p50: Record<string, number[]> = { on: [], off: [], bulk_on: [], bulk_off: [] };
  try {
    for (let r = 0; r < ctx.rounds; r++) {
      const times: Record<'on' | 'off', number[]> = { on: [], off: [] };
      for (let i = -50; i < n; i++) {
        // alternate which table goes first
        for (const which of i % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
          const t0 = nowMs();
          await ctx.pool.query(`INSERT INTO ${which === 'on' ? ON : OFF} (org_id, subject, body) VALUES ($1, $2, $3)`, [
            1,
            `capture ${r}.${i}`,
            'bench',
          ]);
          if (i >= 0) times[which].push(nowMs() - t0);
        }
      }
      const bulk: Record<'on' | 'off', number[]> = { on: [], off: [] };
      for (let b = 0; b < bulkRuns; b++) {
        for (const which of b % 2 === 0 ? (['on', 'off'] as const) : (['off', 'on'] as const)) {
          const t0 = nowMs();
          await ctx.pool.query(
            `INSERT INTO ${which === 'on' ? ON : OFF} (org_id, subject, body) SELECT 1, 'bulk ' || g, 'bench' FROM generate_series(1, $1::int) g`,
            [bulkRows],
          );
          bulk[which].push(nowMs() - t0);
        }
      }
      insertRatios.push(median(times.on) / median(times.off));
      bulkRatios.push(median(bulk.on) / median(bulk.off));
      p50.on.push(median(times.on));
      p50.off.push(median(times.off));
      p50.bulk_on.push(median(bulk.on));
      p50.bulk_off.push(median(bulk.off));
      ctx.log(
        `capture round ${r + 1}/${ctx.rounds}: INSERT p50 ${round(median(times.on), 3)} ms with capture, ${round(median(times.off), 3)} ms without; ` +
          `${bulkRows}-row INSERT … SELECT ${round(median(bulk.on))} ms with, ${round(median(bulk.off))} ms without (p99 with ${round(percentile(times.on, 99), 3)} ms)`,
      );
    }
    const { rows } = await ctx.pool.query(`SELECT count(*)::int AS n FROM ${OUTBOX_TABLE} WHERE entity = 'BenchCapture'`);
    const expected = ctx.rounds * (n + 50 + bulkRuns * bulkRows);
    if (rows[0].n !== expected) throw new Error(`capture wrote ${rows[0].n} events, expected ${expected}`);
  } finally {
    for (const sql of definition.drop) await ctx.pool.query(sql);
    await ctx.pool.query(`DROP TABLE IF EXISTS ${ON}; DROP TABLE IF EXISTS ${OFF}`);
    await ctx.pool.query(`DELETE FROM ${OUTBOX_TABLE} WHERE entity = 'BenchCapture'`);
  }
  return {
    capture_insert_ratio: round(median(insertRatios), 3),
    capture_insert_p50_ms: round(median(p50.on), 3),
    capture_insert_off_p50_ms: round(median(p50.off), 3),
    capture_bulk_ratio: round(median(bulkRatios), 3),
    capture_bulk_ms: round(median(p50.bulk_on), 1),
    capture_bulk_off_ms: round(median(p50.bulk_off), 1),
    capture_bulk_rows: bulkRows,
    capture_insert_samples: n,
  };
}
