/**
 * The courier alone, without Temporal: N email sends at concurrency C from this process through a courier
 * (src/courier) into the bench SMTP sink, each recorded in the sent-ledger of a Postgres database. Prints
 * sends/s and the CPU time per send of the courier process and of this one (the worker's side of IPC), the
 * figures to compare two versions of the send path on a machine that other work shares.
 *
 *   node -r ./bench/register.js bench/courier-alone.ts
 *   COURIER_BENCH_DB=postgres://postgres@127.0.0.1:5432/postgres   a database the ledger may be created in
 *   COURIER_BENCH_SENDS=20000  COURIER_BENCH_CONCURRENCY=200  COURIER_BENCH_ROUNDS=3
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'pg';
import { createCourier } from '../src/courier';
import { ensureLedger } from '../src/sql/ledger';
import { startSmtpSink } from '../test/support/sinks';
import { round } from './stats';

const CLK_TCK = 100;

/** user + system CPU seconds of a process, from /proc */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

async function main(): Promise<void> {
  const sends = Number(process.env.COURIER_BENCH_SENDS ?? 20_000);
  const concurrency = Number(process.env.COURIER_BENCH_CONCURRENCY ?? 200);
  const rounds = Number(process.env.COURIER_BENCH_ROUNDS ?? 3);
  // the courier's ledger pool takes this application_name too: its Postgres backends are found by it
  const pool = new Pool({
    connectionString: process.env.COURIER_BENCH_DB ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    max: 4,
    application_name: 'courier-bench',
  });
  await ensureLedger(pool);
  const smtp = await startSmtpSink();
  const quiet = {
    debug() {},
    info() {},
    warn: (e: string, f?: unknown) => console.warn(e, f),
    error: (e: string, f?: unknown) => console.error(e, f),
  };
  const courier = createCourier({
    config: {
      email: { host: '127.0.0.1', port: smtp.port, from: 'bench@courier.test', tls: false },
      http: { allow: ['127.0.0.1'], timeoutMs: 5000 },
    },
    pool,
    logger: quiet,
  });
  await courier.start();
  const email = courier.provider('email');
  const run = `${process.pid}-${Date.now()}`;
  try {
    for (let r = 0; r < rounds; r++) {
      const pid = courier.pid()!;
      const backends = async () =>
        (
          await pool.query<{ pid: number }>(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'courier-bench' AND pid <> pg_backend_pid()",
          )
        ).rows.map((r) => r.pid);
      // backends of the courier's pool (those of this process's pool answer these queries only)
      const pgCpu = async () =>
        (await backends()).reduce(
          (sum, p) =>
            sum +
            (() => {
              try {
                return cpuSeconds(p);
              } catch {
                return 0;
              }
            })(),
          0,
        );
      const pgCpu0 = await pgCpu();
      const courierCpu0 = cpuSeconds(pid);
      const selfCpu0 = process.cpuUsage();
      const t0 = Date.now();
      let next = 0;
      const lane = async () => {
        while (next < sends) {
          const i = next++;
          await email.execute(
            {
              capability: 'email.send',
              to: `r${i}@courier.bench.test`,
              subject: `Hello ${i}`,
              text: `Dear recipient ${i},\n\nthe campaign says hello.\n`,
            },
            { idempotencyKey: `fj-bench-${run}-${r}-${i}`, job: 'bench', workflowId: `bench-${run}`, attempt: 1 },
          );
        }
      };
      await Promise.all(Array.from({ length: concurrency }, lane));
      const wall = (Date.now() - t0) / 1000;
      const courierCpu = cpuSeconds(pid) - courierCpu0;
      const postgresCpu = (await pgCpu()) - pgCpu0;
      const self = process.cpuUsage(selfCpu0);
      const selfCpu = (self.user + self.system) / 1e6;
      console.log(
        `round ${r + 1}: ${sends} sends in ${round(wall, 2)} s = ${round(sends / wall, 0)}/s; CPU per send: courier ${round((courierCpu / sends) * 1e6, 0)} µs, ` +
          `Postgres backends ${round((postgresCpu / sends) * 1e6, 0)} µs, this process (IPC + SMTP sink) ${round((selfCpu / sends) * 1e6, 0)} µs; load ${(await import('node:os')).loadavg()[0].toFixed(2)}`,
      );
    }
    const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${courier.pid()}/status`, 'utf8'))?.[1];
    console.log(`courier peak RSS ${round(Number(hwm) / 1024, 1)} MiB`);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM forge_jobs.effect_ledger WHERE key LIKE $1`, [
      `sent:fj-bench-${run}-%`,
    ]);
    console.log(`ledger rows: ${rows[0].n} of ${sends * rounds}`);
    await pool.query(`DELETE FROM forge_jobs.effect_ledger WHERE key LIKE 'sent:fj-bench-%'`);
  } finally {
    await courier.close();
    await smtp.close();
    await pool.end();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
