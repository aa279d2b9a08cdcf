/**
 * `npm run bench`: one Temporal dev server, one embedded Postgres (fresh data directory), an SMTP and an HTTP
 * sink on 127.0.0.1, the forge-jobs worker and a bare baseline worker each in a process of its own; then the
 * scenarios of bench/scenarios, a table, and bench/results.json. Every figure is the median over rounds.
 *
 *   BENCH_QUICK=1          one short round of everything (a check that the bench works, not a measurement)
 *   BENCH_ROUNDS=n         rounds per scenario (default 3; 1 when quick)
 *   BENCH_ONLY=a,b         scenarios to run: request,capture,smtp,throughput,fanout,needs,scale,rate,replay (default all)
 *   BENCH_FANOUT_1M=1      the scale scenario also fans out to 1,000,000 targets
 *   BENCH_SCALE=all-fail   the scale scenario runs only its all-fail fan-out
 *   BENCH_RATE_TARGETS=n   mails of the rate scenario (default 100000; 5000 when quick), at BENCH_RATE_PER_S (1000)
 *   BENCH_REPLAY_HISTORIES=n  histories the replay scenario replays (default 1000; 100 when quick)
 *   BENCH_TIMEOUT_S=s      the whole run's bound (default 1800; 600 when quick)
 *   BENCH_TUNING='{…}'     worker tuning (Worker.create slot options) for the forge worker
 *   BENCH_POLICY='{…}'     job policy overrides for the app's client (chunkSize, childConcurrency, concurrency, batchSize, batchThreshold)
 *   BENCH_TEMPORAL_ARGS    more `temporal server start-dev` arguments
 *   MALLOC_ARENA_MAX=n     glibc malloc arenas of both workers (default 2, as advised for production)
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode } from '@temporalio/worker';
import { Pool } from 'pg';
import { createJobClient, resolveRuntimeConfig } from '../src';
import { resolveArtifact } from '../src/admin';
import { jobPolicy } from '../src/client/policy';
import { artifact as rawArtifact, rawConfig, seed } from './app';
import type { BenchContext, Results } from './context';
import { captureCost } from './scenarios/capture';
import { fanout } from './scenarios/fanout';
import { needs } from './scenarios/needs';
import { rate } from './scenarios/rate';
import { replay } from './scenarios/replay';
import { scale } from './scenarios/scale';
import { requestPath } from './scenarios/request-path';
import { smtpLatency } from './scenarios/smtp-latency';
import { throughput } from './scenarios/throughput';
import { startHttpSink, startSmtpSink } from '../test/support/sinks';
import { startOwnPostgres, startOwnTemporal } from '../test/support/stack';
import { round, sleep } from './stats';
import { SERVER_TUNING } from '../src/dev/server-tuning';
import { WORKER_V8_FLAGS } from '../src/v8-flags';
import { TASK_QUEUE_TYPE } from '../src/names';

const FORGE_QUEUE = 'bench-forge';
const BASELINE_QUEUE = 'bench-baseline';
const MiB = 1024 * 1024;

const started = Date.now();
const log = (line: string) => process.stdout.write(`[bench ${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
const cleanups: Array<() => Promise<unknown>> = [];

async function main(): Promise<void> {
  const quick = process.env.BENCH_QUICK === '1';
  const rounds = Number(process.env.BENCH_ROUNDS ?? (quick ? 1 : 3));
  const only = new Set(
    (process.env.BENCH_ONLY ?? 'request,capture,smtp,throughput,fanout,needs,scale,rate,replay').split(',').map((s) => s.trim()),
  );
  const machine = `${os.cpus()[0].model}, ${os.cpus().length} cores, Node ${process.version}`;
  log(
    `${machine}; ${quick ? 'QUICK run (not a measurement)' : `${rounds} rounds`}; load average ${os
      .loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );

  const tmp = mkdtempSync(join(os.tmpdir(), 'forge-jobs-bench-'));
  chmodSync(tmp, 0o755); // embedded Postgres runs as the "postgres" user when we are root
  cleanups.push(async () => rmSync(tmp, { recursive: true, force: true }));

  const quiet = (line: string) => (/^\[(postgres|temporal)\]/.test(line) ? undefined : log(line));
  // Eager activity dispatch is on in every dev server forge-jobs starts (src/dev/temporal-dev-server.ts).
  const extraArgs = process.env.BENCH_TEMPORAL_ARGS ? process.env.BENCH_TEMPORAL_ARGS.split(' ') : [];
  const [temporal, pg, smtp, http, forgeBundle, baselineBundle] = await Promise.all([
    // the stack support the tests start theirs with; the workers below stay child processes of the bench's own
    startOwnTemporal({ log: quiet, extraArgs }),
    startOwnPostgres({ dataDir: join(tmp, 'pg-data'), database: 'bench', log: quiet }),
    // counts and times only: the sinks must not add work of their own to the figures they measure
    startSmtpSink({ keep: false }),
    startHttpSink({ keep: false, answer: () => 204, keepAliveMs: 30_000 }),
    bundle(require.resolve('../src/workflows')),
    bundle(require.resolve('./baseline/workflows')),
  ]);
  cleanups.unshift(
    () => temporal.stop(),
    () => pg.stop(),
    () => smtp.close(),
    () => http.close(),
  );
  log(`Temporal ${temporal.address}, Postgres on 127.0.0.1:${pg.port}, SMTP 127.0.0.1:${smtp.port}, HTTP ${http.url}`);

  const pool = new Pool({ connectionString: pg.url, max: 40 });
  cleanups.unshift(() => pool.end());
  await seed(pool);
  const raw = rawConfig({
    temporal: temporal.address,
    databaseUrl: pg.url,
    smtpPort: smtp.port,
    httpUrl: http.url,
    taskQueue: FORGE_QUEUE,
  });
  const config = resolveRuntimeConfig(raw, { environment: 'bench', env: {} });
  const artifact = resolveArtifact(rawArtifact, config);
  const policy = process.env.BENCH_POLICY ? JSON.parse(process.env.BENCH_POLICY) : undefined;
  const jobs = createJobClient({ artifact, config, logger: silent, policy });
  const connection = await Connection.connect({ address: temporal.address });
  const temporalClient = new Client({ connection });
  cleanups.unshift(
    () => jobs.close(),
    () => connection.close(),
  );

  const rawConfigOn = (o: { taskQueue: string }) =>
    rawConfig({ temporal: temporal.address, databaseUrl: pg.url, smtpPort: smtp.port, httpUrl: http.url, taskQueue: o.taskQueue });
  const ctx: BenchContext = {
    quick,
    rounds,
    temporal: temporal.address,
    databaseUrl: pg.url,
    pool,
    smtp,
    http,
    config,
    artifact,
    jobs,
    temporalClient,
    baselineQueue: BASELINE_QUEUE,
    log,
    rawConfig: rawConfigOn,
    async startForgeWorker(name, workerConfig) {
      const child = await startChild(name, { kind: 'forge', config: workerConfig, artifact: rawArtifact, bundlePath: forgeBundle }, tmp);
      return { pid: child.pid!, stop: () => stopChild(child) };
    },
    async lanePollers(taskQueue, n) {
      for (let i = 0; i < 600; i++) {
        const { pollers } = await temporalClient.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: taskQueue },
          taskQueueType: TASK_QUEUE_TYPE.activity,
        });
        if (new Set((pollers ?? []).map((p) => p.identity)).size >= n) {
          // each worker counts the lane's workers every 3 s (src/rate/pacer.ts)
          await sleep(3500);
          return;
        }
        await sleep(100);
      }
      throw new Error(`${n} workers did not poll ${taskQueue} within a minute`);
    },
  };
  const results: Results = { machine };

  // The request path first, before any worker runs: nothing else competes for the two cores.
  if (only.has('request')) Object.assign(results, await requestPath(ctx));
  if (only.has('capture')) Object.assign(results, await captureCost(ctx));

  const tuning = process.env.BENCH_TUNING ? JSON.parse(process.env.BENCH_TUNING) : undefined;
  const common = { config: raw, artifact: rawArtifact, temporal: temporal.address, databaseUrl: pg.url, smtpPort: smtp.port };
  const forgeWorker = await startChild(
    'forge worker',
    { ...common, kind: 'forge', bundlePath: forgeBundle, taskQueue: FORGE_QUEUE, tuning },
    tmp,
  );
  const baselineWorker = await startChild(
    'baseline worker',
    { ...common, kind: 'baseline', bundlePath: baselineBundle, taskQueue: BASELINE_QUEUE },
    tmp,
  );
  const idleRss = memory(forgeWorker.pid!).rss;
  let sampledPeak = idleRss;
  const sampler = setInterval(() => (sampledPeak = Math.max(sampledPeak, memory(forgeWorker.pid!).rss)), 250);
  log(`workers ready; forge worker pid ${forgeWorker.pid} RSS ${round(idleRss / MiB, 1)} MiB idle`);

  const peaks: Record<string, number> = {};
  const scenarios = { smtp: smtpLatency, throughput, fanout, needs, scale, rate, replay };
  for (const [name, scenario] of Object.entries(scenarios)) {
    if (!only.has(name)) continue;
    sampledPeak = memory(forgeWorker.pid!).rss;
    Object.assign(results, await scenario(ctx));
    peaks[name] = round(Math.max(sampledPeak, memory(forgeWorker.pid!).rss) / MiB, 1);
    log(`  forge worker RSS peak during ${name}: ${peaks[name]} MiB (VmHWM so far ${round(memory(forgeWorker.pid!).hwm / MiB, 1)} MiB)`);
  }

  clearInterval(sampler);
  const forgeMem = memory(forgeWorker.pid!);
  const baselineMem = memory(baselineWorker.pid!);
  // The worker's courier (src/courier) is a process of its own: its peak counts too.
  const courierPid = childrenOf(forgeWorker.pid!).find((pid) => cmdline(pid).includes('courier'));
  const courierMem = courierPid === undefined ? undefined : memory(courierPid);
  Object.assign(results, {
    worker_peak_rss_mib: round(forgeMem.hwm / MiB, 1),
    courier_peak_rss_mib: courierMem ? round(courierMem.hwm / MiB, 1) : null,
    worker_and_courier_peak_rss_mib: round((forgeMem.hwm + (courierMem?.hwm ?? 0)) / MiB, 1),
    malloc_arena_max: MALLOC_ARENA_MAX,
    worker_idle_rss_mib: round(idleRss / MiB, 1),
    worker_rss_peak_by_scenario_mib: peaks,
    baseline_worker_peak_rss_mib: round(baselineMem.hwm / MiB, 1),
  });
  await Promise.all([stopChild(forgeWorker), stopChild(baselineWorker)]);

  Object.assign(results, {
    rounds,
    quick,
    worker_tuning: tuning ?? 'defaults',
    temporal_server_tuning: SERVER_TUNING,
    policy: jobPolicy(config, policy),
    load_average_end: os.loadavg().map((l) => round(l, 2)),
    date: new Date().toISOString(),
    duration_s: Math.round((Date.now() - started) / 1000),
  });
  const file = join(__dirname, 'results.json');
  if (process.env.BENCH_ONLY) {
    // A run of some scenarios updates their figures and keeps the rest of the last run's file.
    const previous = JSON.parse(readFileSync(file, 'utf8')) as Results;
    const peaksBefore = (previous.worker_rss_peak_by_scenario_mib ?? {}) as Record<string, number>;
    Object.assign(previous, results, {
      worker_rss_peak_by_scenario_mib: { ...peaksBefore, ...peaks },
      last_partial_run: [...only].join(','),
    });
    Object.assign(results, previous);
  }
  results.goals = goals(results);
  writeFileSync(file, JSON.stringify(results, null, 2) + '\n');
  process.stdout.write('\n' + table(results) + '\n');
  log(`wrote ${file}`);
}

async function bundle(workflowsPath: string): Promise<string> {
  const noop = () => undefined;
  const { code } = await bundleWorkflowCode({
    workflowsPath,
    logger: { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: (m: string) => log(m) },
  });
  const dir = join(os.tmpdir(), `forge-jobs-bench-bundles-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, `${workflowsPath.includes('baseline') ? 'baseline' : 'forge'}.js`);
  writeFileSync(file, code);
  return file;
}

/**
 * Both workers run with glibc's malloc held to 2 arenas, as the README and the Dockerfile advise for
 * production: by default glibc gives each of the worker's threads (Temporal's core, the workflow thread) arenas
 * of their own, which cost ~40 MiB of RSS here for no speed. MALLOC_ARENA_MAX= in the environment overrides.
 */
const MALLOC_ARENA_MAX = process.env.MALLOC_ARENA_MAX ?? '2';

async function startChild(
  name: string,
  options: { kind: 'forge' | 'baseline' } & Record<string, unknown>,
  _tmp: string,
): Promise<ChildProcess> {
  const args =
    options.kind === 'forge'
      ? [join(__dirname, 'forge-worker.js')]
      : ['-r', join(__dirname, 'register.js'), join(__dirname, 'worker-child.ts')];
  // both workers run as the Dockerfile runs forge-jobs' (src/v8-flags.ts), so the ratios compare like with like
  const child = spawn(process.execPath, [...WORKER_V8_FLAGS, ...args, JSON.stringify(options)], {
    cwd: join(__dirname, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, MALLOC_ARENA_MAX },
  });
  cleanups.unshift(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  createInterface({ input: child.stderr! }).on('line', (line) => log(`[${name}] ${line}`));
  const ready = await new Promise<boolean>((resolve) => {
    createInterface({ input: child.stdout! }).on('line', (line) => line === 'ready' && resolve(true));
    child.once('exit', () => resolve(false));
    setTimeout(() => resolve(false), 120_000).unref();
  });
  if (!ready) throw new Error(`${name} did not start`);
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await Promise.race([exited, sleep(15_000).then(() => child.kill('SIGKILL'))]);
}

function childrenOf(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
  } catch {
    return '';
  }
}

/** VmRSS and VmHWM (peak) of a process, in bytes. */
function memory(pid: number): { rss: number; hwm: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  } catch {
    return { rss: NaN, hwm: NaN };
  }
}

type Goal = { goal: string; value: unknown; met: boolean | null };

function goals(r: Results): Record<string, Goal> {
  const n = (k: string) => (typeof r[k] === 'number' ? (r[k] as number) : undefined);
  const check = (value: number | undefined, ok: (v: number) => boolean, goal: string): Goal => ({
    goal,
    value: value ?? null,
    met: value === undefined || Number.isNaN(value) ? null : ok(value),
  });
  return {
    outbox_ratio: check(n('outbox_ratio'), (v) => v <= 1.3, 'outbox ≤ 1.3× commit alone (p50)'),
    capture_insert_ratio: check(n('capture_insert_ratio'), (v) => v <= 1.3, 'INSERT with capture ≤ 1.3× without (p50)'),
    after_commit_p50_ms: check(n('after_commit_p50_ms'), (v) => v <= 10, 'afterCommit p50 ≤ 10 ms'),
    after_commit_p99_ms_temporal_down: check(
      n('after_commit_p99_ms_temporal_down'),
      (v) => v <= 50,
      'afterCommit p99 ≤ 50 ms with Temporal down',
    ),
    commit_to_smtp_p50_ms: check(n('commit_to_smtp_p50_ms'), (v) => v <= 100, 'commit → SMTP p50 ≤ 100 ms'),
    commit_to_smtp_p99_ms: check(n('commit_to_smtp_p99_ms'), (v) => v <= 300, 'commit → SMTP p99 ≤ 300 ms'),
    jobs_ratio: check(n('jobs_ratio'), (v) => v >= 0.8, '≥ 0.8× the bare baseline'),
    fanout_10k_s: check(n('fanout_10k_s'), (v) => v <= 30, '10,000 targets in ≤ 30 s'),
    fanout_100k_s: check(n('fanout_100k_s'), (v) => v <= 60, '100,000 targets in ≤ 60 s'),
    fanout_1m_s: check(n('fanout_1m_s'), (v) => v <= 600, '1,000,000 targets in ≤ 10 min'),
    fanout_100k_all_fail_dead_s: check(
      n('fanout_100k_all_fail_dead_s'),
      (v) => v <= (n('fanout_100k_all_fail_backoff_s') ?? 0) + 60,
      'all-fail 100,000 dead within the backoff + 60 s',
    ),
    fanout_max_history_events: check(n('fanout_max_history_events'), (v) => v < 10_240, 'every history < 10,240 events'),
    needs_queries_per_resolution: check(n('needs_queries_per_resolution'), (v) => v === n('needs_hops'), 'queries = hops'),
    worker_and_courier_peak_rss_mib: check(n('worker_and_courier_peak_rss_mib'), (v) => v <= 300, 'RSS ≤ 300 MiB (worker + courier)'),
    rate_limited_100k_s: check(n('rate_limited_100k_s'), (v) => Math.abs(v - 100) <= 10, '100,000 mails at 1000/s in 100 s ± 10 %'),
    rate_overshoot_max: check(n('rate_overshoot_max'), (v) => v <= 1.2, 'busiest second ≤ 1.2× the rate'),
    replay_histories_per_min: check(n('replay_histories_per_min'), (v) => v >= 1000, 'replay ≥ 1,000 histories/min'),
  };
}

function table(r: Results): string {
  const rows: Array<[string, string, string]> = [];
  const v = (k: string, unit = '') => (r[k] === undefined ? '—' : `${r[k]}${unit}`);
  const g = (k: string) => {
    const goal = (r.goals as Record<string, Goal>)[k];
    return goal ? `${goal.goal}: ${goal.met === null ? 'n/a' : goal.met ? 'met' : 'NOT met'}` : '';
  };
  rows.push(['commit alone p50 / p99', `${v('commit_p50_ms')} / ${v('commit_p99_ms')} ms`, '']);
  rows.push([
    'commit + afterCommit p50 / p99',
    `${v('after_commit_p50_ms')} / ${v('after_commit_p99_ms')} ms (${v('after_commit_ratio')}×)`,
    g('after_commit_p50_ms'),
  ]);
  rows.push(['commit + outbox p50 / p99', `${v('outbox_p50_ms')} / ${v('outbox_p99_ms')} ms (${v('outbox_ratio')}×)`, g('outbox_ratio')]);
  rows.push([
    'commit + afterCommit, Temporal down p50 / p99 / max',
    `${v('after_commit_p50_ms_temporal_down')} / ${v('after_commit_p99_ms_temporal_down')} / ${v('after_commit_max_ms_temporal_down')} ms`,
    g('after_commit_p99_ms_temporal_down'),
  ]);
  rows.push([
    '  outbox: COMMIT → start accepted p50 / p99',
    `${v('outbox_commit_to_start_p50_ms')} / ${v('outbox_commit_to_start_p99_ms')} ms`,
    '',
  ]);
  rows.push([
    'INSERT with / without capture p50',
    `${v('capture_insert_p50_ms')} / ${v('capture_insert_off_p50_ms')} ms (${v('capture_insert_ratio')}×)`,
    g('capture_insert_ratio'),
  ]);
  rows.push([
    `INSERT … SELECT ${v('capture_bulk_rows')} rows with / without capture`,
    `${v('capture_bulk_ms')} / ${v('capture_bulk_off_ms')} ms (${v('capture_bulk_ratio')}×)`,
    '',
  ]);
  rows.push(['commit → SMTP accepted p50', v('commit_to_smtp_p50_ms', ' ms'), g('commit_to_smtp_p50_ms')]);
  rows.push(['commit → SMTP accepted p99', v('commit_to_smtp_p99_ms', ' ms'), g('commit_to_smtp_p99_ms')]);
  rows.push([
    'sustained jobs/s (bare baseline)',
    `${v('jobs_per_s')} (${v('baseline_jobs_per_s')}) = ${v('jobs_ratio')}×`,
    g('jobs_ratio'),
  ]);
  rows.push(['fan-out 10,000 targets', `${v('fanout_10k_s', ' s')}, ${v('fanout_effects_per_s')} effects/s`, g('fanout_10k_s')]);
  rows.push([
    'fan-out history (job / largest child)',
    `${v('fanout_history_events')} / ${v('fanout_child_history_events_max')} events, ${v('fanout_children')} children`,
    '',
  ]);
  if (r.baseline_fanout_activities_per_s !== undefined) {
    rows.push(['bare workflow, 1 activity per target', v('baseline_fanout_activities_per_s', ' targets/s'), '']);
    rows.push(['bare workflow, 10 targets per activity', v('baseline_fanout_batch10_targets_per_s', ' targets/s'), '']);
  }
  rows.push([
    'fan-out 100,000 email targets',
    `${v('fanout_100k_s', ' s')}, ${v('fanout_100k_effects_per_s')} effects/s`,
    g('fanout_100k_s'),
  ]);
  rows.push([
    'fan-out 100,000, SMTP 451 to all → dead',
    `${v('fanout_100k_all_fail_dead_s', ' s')} (backoff by design ${v('fanout_100k_all_fail_backoff_s', ' s')})`,
    g('fanout_100k_all_fail_dead_s'),
  ]);
  rows.push(['fan-out 1,000,000 email targets', v('fanout_1m_s', ' s'), g('fanout_1m_s')]);
  rows.push(['largest history of those runs', v('fanout_max_history_events', ' events'), g('fanout_max_history_events')]);
  rows.push([
    'needs: hops, queries/resolution',
    `${v('needs_hops')}, ${v('needs_queries_per_resolution')}`,
    g('needs_queries_per_resolution'),
  ]);
  rows.push([
    'needs latency p50 / p99',
    `${v('needs_p50_ms')} / ${v('needs_p99_ms')} ms (${v('needs_rows')} rows → ${v('needs_targets')} targets)`,
    '',
  ]);
  rows.push([
    'rate-limited fan-out, 2 workers',
    `${v('rate_limited_targets')} mails at ${v('rate_limited_per_s')}/s: ${v('rate_limited_s', ' s')} (ideal ${v('rate_limited_ideal_s', ' s')})`,
    g('rate_limited_100k_s'),
  ]);
  rows.push(['busiest second / rate', v('rate_overshoot_max', '×'), g('rate_overshoot_max')]);
  rows.push([
    'replay --from-server',
    `${v('replay_histories_per_min')} histories/min (${v('replay_histories')} in ${v('replay_s')} s, ${v('replay_failed')} failed)`,
    g('replay_histories_per_min'),
  ]);
  rows.push([
    'peak RSS (VmHWM): worker + courier',
    `${v('worker_and_courier_peak_rss_mib', ' MiB')} = ${v('worker_peak_rss_mib')} + ${v('courier_peak_rss_mib')} (idle worker ${v('worker_idle_rss_mib')}; baseline worker ${v('baseline_worker_peak_rss_mib')}; MALLOC_ARENA_MAX ${v('malloc_arena_max')})`,
    g('worker_and_courier_peak_rss_mib'),
  ]);
  const w = [0, 1, 2].map((i) => Math.max(...rows.map((row) => row[i].length)));
  const line = (row: string[]) => '| ' + row.map((c, i) => c.padEnd(w[i])).join(' | ') + ' |';
  return [
    `${r.machine}${r.quick ? ' — QUICK run' : ''}`,
    line(['figure', 'value', 'goal']),
    line(w.map((x) => '-'.repeat(x))),
    ...rows.map(line),
  ].join('\n');
}

const silent = { debug() {}, info() {}, warn() {}, error() {} };

async function cleanup(): Promise<void> {
  for (const fn of cleanups.splice(0)) await fn().catch(() => undefined);
}

const timeoutS = Number(process.env.BENCH_TIMEOUT_S ?? (process.env.BENCH_QUICK === '1' ? 600 : 1800));
const deadline = setTimeout(() => {
  log(`bench exceeded ${timeoutS} s: stopping`);
  void cleanup().finally(() => process.exit(2));
}, timeoutS * 1000);
process.once('SIGINT', () => void cleanup().finally(() => process.exit(130)));

void main().then(
  () => cleanup().then(() => (clearTimeout(deadline), process.exit(0))),
  (err) => {
    log(`failed: ${(err as Error).stack ?? err}`);
    void cleanup().finally(() => process.exit(1));
  },
);
