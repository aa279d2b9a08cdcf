/**
 * Replays the histories a Temporal namespace holds against workflow code, the check Temporal advises before
 * deploying a worker: a change that would break runs in flight fails here instead of in production. Histories
 * stream from the server while earlier ones replay, over `parallel` replay workers sharing one bundle.
 */
import type { Client, WorkflowExecutionInfo } from '@temporalio/client';
import type { History } from '@temporalio/common/lib/proto-utils';
import { Worker, bundleWorkflowCode, type WorkflowBundle } from '@temporalio/worker';
import { anyWorkflowTypeQuery } from '../visibility';
import { describeReplayFailure, isNondeterminism } from './failure';

export interface ServerReplayOptions {
  client: Client;
  /** the workflows module to replay against (a path `bundleWorkflowCode` accepts) */
  workflowsPath: string;
  /** a visibility query; default: every forge-jobs workflow type, the open runs and the latest closed ones */
  query?: string;
  /** the most closed runs (or, with `query`, runs) to replay; default 1,000 */
  limit?: number;
  /** histories fetched and replayed at once; default 4 */
  parallel?: number;
  /** called as each history is replayed */
  onResult?: (result: ReplayOutcome, done: number, total: number) => void;
}

export interface ReplayOutcome {
  workflowId: string;
  runId: string;
  workflowType: string;
  ok: boolean;
  /** nondeterminism (the code no longer matches the history) vs any other failure to replay */
  nondeterminism: boolean;
  error?: string;
}

export interface ServerReplaySummary {
  replayed: number;
  passed: number;
  failed: number;
  /** nondeterminism among the failed */
  nondeterministic: number;
  /** runs listed but gone before their history was read (retention, pruning) */
  skipped: number;
  seconds: number;
  failures: ReplayOutcome[];
}

export const DEFAULT_REPLAY_LIMIT = 1000;
export const DEFAULT_REPLAY_PARALLEL = 4;

/** The default selection: every type forge-jobs registers, open runs all, closed runs newest first. */
export function defaultReplayQueries(): { open: string; closed: string } {
  const types = anyWorkflowTypeQuery();
  return { open: `${types} AND ExecutionStatus = "Running"`, closed: `${types} AND ExecutionStatus != "Running"` };
}

export async function replayFromServer(options: ServerReplayOptions): Promise<ServerReplaySummary> {
  const started = Date.now();
  const limit = options.limit ?? DEFAULT_REPLAY_LIMIT;
  const parallel = Math.max(1, options.parallel ?? DEFAULT_REPLAY_PARALLEL);
  const runs = await selectRuns(options.client, options.query, limit);
  const summary: ServerReplaySummary = { replayed: 0, passed: 0, failed: 0, nondeterministic: 0, skipped: 0, seconds: 0, failures: [] };
  if (runs.length > 0) {
    const workflowBundle = await bundleWorkflowCode({ workflowsPath: options.workflowsPath, logger: silentLogger });
    const record = (outcome: ReplayOutcome) => {
      summary.replayed++;
      if (outcome.ok) summary.passed++;
      else {
        summary.failed++;
        if (outcome.nondeterminism) summary.nondeterministic++;
        summary.failures.push(outcome);
      }
      options.onResult?.(outcome, summary.replayed, runs.length);
    };
    const lanes = Array.from({ length: Math.min(parallel, runs.length) }, (_, lane) => runs.filter((_, i) => i % parallel === lane));
    await Promise.all(
      lanes.map((lane) =>
        replayLane(options.client, workflowBundle, lane, record, () => {
          summary.skipped++;
        }),
      ),
    );
  }
  summary.seconds = (Date.now() - started) / 1000;
  return summary;
}

async function selectRuns(client: Client, query: string | undefined, limit: number): Promise<WorkflowExecutionInfo[]> {
  if (query !== undefined) return take(client.workflow.list({ query }), limit);
  const { open, closed } = defaultReplayQueries();
  return [
    ...(await take(client.workflow.list({ query: open }), Infinity)),
    ...(await take(client.workflow.list({ query: closed }), limit)),
  ];
}

async function take<T>(items: AsyncIterable<T>, limit: number): Promise<T[]> {
  const out: T[] = [];
  if (limit <= 0) return out;
  for await (const item of items) {
    out.push(item);
    if (out.length >= limit) break;
  }
  return out;
}

/** One replay worker over its share of the runs; the next history is fetched while the worker replays. */
async function replayLane(
  client: Client,
  workflowBundle: WorkflowBundle,
  runs: WorkflowExecutionInfo[],
  record: (outcome: ReplayOutcome) => void,
  skip: () => void,
): Promise<void> {
  // Results come back in the order histories went in; a redriven job has several runs under one id.
  const pending = new Map<string, Array<{ info: WorkflowExecutionInfo; history: History }>>();
  async function* histories() {
    for (const info of runs) {
      let history: History;
      try {
        history = await client.workflow.getHandle(info.workflowId, info.runId).fetchHistory();
      } catch (err) {
        if (isGone(err)) {
          skip();
          continue;
        }
        throw err;
      }
      pending.set(info.workflowId, [...(pending.get(info.workflowId) ?? []), { info, history }]);
      yield { workflowId: info.workflowId, history };
    }
  }
  for await (const result of Worker.runReplayHistories({ workflowBundle }, histories())) {
    const queue = pending.get(result.workflowId) ?? [];
    const entry = queue.shift();
    if (queue.length === 0) pending.delete(result.workflowId);
    const workflowType = entry?.info.type ?? '';
    const runId = entry?.info.runId ?? result.runId;
    if (!result.error) {
      record({ workflowId: result.workflowId, runId, workflowType, ok: true, nondeterminism: false });
      continue;
    }
    record({
      workflowId: result.workflowId,
      runId,
      workflowType,
      ok: false,
      nondeterminism: isNondeterminism(result.error),
      error: entry ? describeReplayFailure(result.error, entry.history) : String(result.error.message),
    });
  }
}

function isGone(err: unknown): boolean {
  return (err as Error)?.name === 'WorkflowNotFoundError' || /not found/i.test((err as Error)?.message ?? '');
}

const noop = () => undefined;
const silentLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: noop };
