/**
 * `forge-jobs replay <history.json…> | --workflow-id ID | --from-server`: replays recorded histories against
 * the current workflow code. Exit 1 on nondeterminism, with one line naming the event or command that no
 * longer matches; exit 2 when the server cannot be reached.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { resolve } from 'node:path';
import { WORKFLOWS_PATH } from '../index';
import {
  GRPC_STATUS,
  connectionOptions,
  describeReplayFailure,
  DEFAULT_REPLAY_LIMIT,
  DEFAULT_REPLAY_PARALLEL,
  replayFromServer,
} from '../admin';
import { UsageError, loadConfig, positiveInt, resolveTemporal } from './config';
import { print, printJson, progress } from './format';
import type { ConfigFlags, JsonFlags, TemporalFlags } from './options';

export type ReplayFlags = ConfigFlags &
  TemporalFlags &
  JsonFlags & {
    workflowId?: string;
    runId?: string;
    fromServer?: boolean;
    query?: string;
    limit?: string;
    parallel?: string;
    workflows?: string;
  };

/** An error that ends the command with its own exit code (2: the server cannot be reached). */
class ExitError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

interface Loaded {
  /** the file, or "workflow <id>" */
  source: string;
  history: History;
  workflowId: string;
}

interface Result {
  source: string;
  workflowId: string;
  workflowType?: string;
  events: number;
  ok: boolean;
  error?: string;
}

export async function replayCommand(files: string[], flags: ReplayFlags): Promise<void> {
  if (flags.fromServer) {
    if (files.length > 0 || flags.workflowId)
      throw new UsageError('--from-server replays what the server holds; give no files or --workflow-id with it');
    return replayServer(flags);
  }
  if (flags.query || flags.limit || flags.parallel) throw new UsageError('--query, --limit and --parallel go with --from-server');
  if (files.length === 0 && !flags.workflowId)
    throw new UsageError('give a history file (Temporal JSON) or --workflow-id <id> to fetch one');
  if (files.length > 1 && flags.workflowId) throw new UsageError('--workflow-id applies to one history; give one file with it');
  const loaded = files.length > 0 ? files.map((f) => loadFile(f, flags.workflowId)) : [await fetchHistory(flags.workflowId!, flags)];

  quietRuntime();
  progress('bundling workflows…');
  const bundle = await bundleWorkflowCode({ workflowsPath: workflowsPath(flags), logger: quietLogger });

  const results: Result[] = [];
  for (const item of loaded) {
    const events = item.history.events?.length ?? 0;
    const workflowType = item.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? undefined;
    progress(`replaying ${item.source} (${events} events, ${workflowType ?? 'unknown type'})…`);
    try {
      await Worker.runReplayHistory({ workflowBundle: bundle }, item.history, item.workflowId);
      results.push({ source: item.source, workflowId: item.workflowId, workflowType, events, ok: true });
    } catch (err) {
      results.push({
        source: item.source,
        workflowId: item.workflowId,
        workflowType,
        events,
        ok: false,
        error: describeReplayFailure(err, item.history),
      });
    }
  }

  const failed = results.filter((r) => !r.ok);
  if (flags.json) printJson({ ok: failed.length === 0, results });
  else {
    for (const r of results.filter((r) => r.ok)) {
      print(`ok  ${r.source}  (${r.events} events${r.source.includes(r.workflowId) ? '' : `, workflow id ${r.workflowId}`})`);
    }
  }
  if (failed.length > 0) {
    // One line per failed history; the caller's "forge-jobs replay:" line carries the first.
    for (const r of failed.slice(1)) process.stderr.write(`forge-jobs replay: ${r.source}: ${r.error}\n`);
    throw new Error(`${failed[0].source}: ${failed[0].error}`);
  }
}

const WHOLE = 'a whole number of at least 1';

async function replayServer(flags: ReplayFlags): Promise<void> {
  const temporal = resolveTemporal(flags, loadConfig(flags));
  const limit = flags.limit === undefined ? DEFAULT_REPLAY_LIMIT : positiveInt(flags.limit, '--limit', WHOLE);
  const parallel = flags.parallel === undefined ? DEFAULT_REPLAY_PARALLEL : positiveInt(flags.parallel, '--parallel', WHOLE);
  const connection = await connect(temporal);
  quietRuntime();
  try {
    const client = new Client({ connection, namespace: temporal.namespace });
    progress(
      `replaying ${flags.query ? `runs matching ${flags.query}` : `open runs and the last ${limit} closed`} from ${temporal.address} (namespace ${temporal.namespace})…`,
    );
    let lastProgress = Date.now();
    const summary = await replayFromServer({
      client,
      workflowsPath: workflowsPath(flags),
      query: flags.query,
      limit,
      parallel,
      onResult(result, done, total) {
        if (!result.ok && !flags.json) print(`FAIL ${result.workflowId} (run ${result.runId}, ${result.workflowType}): ${result.error}`);
        if (Date.now() - lastProgress > 2000 || done === total) {
          lastProgress = Date.now();
          progress(`  ${done}/${total} replayed`);
        }
      },
    }).catch((err: Error) => {
      throw isUnavailable(err) ? new ExitError(`cannot reach Temporal at ${temporal.address}: ${firstLine(err)}`, 2) : err;
    });
    const perMinute = summary.seconds > 0 ? Math.round((summary.replayed / summary.seconds) * 60) : summary.replayed;
    if (flags.json) printJson({ ok: summary.failed === 0, ...summary, histories_per_minute: perMinute });
    else {
      print(
        `replayed ${summary.replayed}: ${summary.passed} passed, ${summary.failed} failed` +
          `${summary.skipped ? `, ${summary.skipped} gone before they were read` : ''} in ${summary.seconds.toFixed(1)} s (${perMinute} histories/min)`,
      );
    }
    if (summary.failed > 0) {
      const kind = summary.nondeterministic === summary.failed ? 'nondeterministic' : 'failed to replay';
      throw new ExitError(
        `${summary.failed} of ${summary.replayed} histories ${kind} against ${flags.workflows ?? 'this checkout'}'s workflow code`,
        1,
      );
    }
  } finally {
    await connection.close();
  }
}

function workflowsPath(flags: ReplayFlags): string {
  return flags.workflows ? resolve(flags.workflows) : WORKFLOWS_PATH;
}

async function connect(temporal: ReturnType<typeof resolveTemporal>): Promise<Connection> {
  try {
    return await Connection.connect({ ...connectionOptions(temporal), connectTimeout: '5s' });
  } catch (err) {
    throw new ExitError(`cannot reach Temporal at ${temporal.address}: ${firstLine(err as Error)}`, 2);
  }
}

function isUnavailable(err: Error): boolean {
  const code = (err as { code?: number }).code ?? (err.cause as { code?: number } | undefined)?.code;
  return code === GRPC_STATUS.UNAVAILABLE || /UNAVAILABLE|ECONNREFUSED|deadline/i.test(err.message);
}

const firstLine = (err: Error) => err.message.split('\n')[0];

function loadFile(file: string, workflowId: string | undefined): Loaded {
  if (!existsSync(file)) throw new UsageError(`history file not found: ${file}`);
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UsageError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  // `temporal workflow show --output json` and the Web UI's download give { events: […] }; accept a bare array too.
  const raw = Array.isArray(json) ? { events: json } : json;
  if (typeof raw !== 'object' || raw === null || !Array.isArray((raw as { events?: unknown }).events)) {
    throw new UsageError(`${file} is not a Temporal history (expected JSON { "events": [ … ] })`);
  }
  let history: History;
  try {
    history = historyFromJSON(raw);
  } catch (err) {
    throw new UsageError(`${file} is not a Temporal history: ${(err as Error).message.split('\n')[0]}`);
  }
  const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (!started) throw new UsageError(`${file}: the first event is not WorkflowExecutionStarted`);
  // Child workflow ids derive from the parent's, so replay must use the recorded id; the started event
  // carries it in recent servers, else --workflow-id gives it.
  return { source: file, history, workflowId: workflowId ?? (started.workflowId || 'replay') };
}

async function fetchHistory(workflowId: string, flags: ReplayFlags): Promise<Loaded> {
  const temporal = resolveTemporal(flags, loadConfig(flags));
  progress(`fetching the history of ${workflowId} from ${temporal.address} (namespace ${temporal.namespace})…`);
  const connection = await connect(temporal);
  try {
    const client = new Client({ connection, namespace: temporal.namespace });
    const history = await client.workflow.getHandle(workflowId, flags.runId).fetchHistory();
    return { source: `workflow ${workflowId}`, history, workflowId };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || /not found/i.test((err as Error).message)) {
      throw new UsageError(
        `workflow ${workflowId}${flags.runId ? ` run ${flags.runId}` : ''} not found in namespace ${temporal.namespace}`,
      );
    }
    throw err;
  } finally {
    await connection.close();
  }
}

function quietRuntime(): void {
  try {
    // core logs a failed workflow task as a WARN of its own; the one line we print says it better
    Runtime.install({ logger: new DefaultLogger('ERROR'), telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } } });
  } catch {
    // already installed
  }
}

const noop = () => undefined;
const quietLogger = { log: noop, trace: noop, debug: noop, info: noop, warn: noop, error: (m: string) => process.stderr.write(m + '\n') };
