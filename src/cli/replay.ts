/**
 * `forge-jobs replay <history.json…> | --workflow-id ID`: replays recorded histories against the current
 * workflow code. Exit 1 on nondeterminism, with one line naming the event or command that no longer matches.
 */
import { existsSync, readFileSync } from 'node:fs';
import { Client, Connection, WorkflowNotFoundError } from '@temporalio/client';
import { historyFromJSON, type History } from '@temporalio/common/lib/proto-utils';
import { DefaultLogger, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH, connectionOptions } from '../index';
import { UsageError, loadConfig, resolveTemporal } from './config';
import { print, printJson, progress } from './format';
import type { ConfigFlags, JsonFlags, TemporalFlags } from './options';

export type ReplayFlags = ConfigFlags & TemporalFlags & JsonFlags & { workflowId?: string; runId?: string };

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
  if (files.length === 0 && !flags.workflowId) throw new UsageError('give a history file (Temporal JSON) or --workflow-id <id> to fetch one');
  if (files.length > 1 && flags.workflowId) throw new UsageError('--workflow-id applies to one history; give one file with it');
  const loaded = files.length > 0 ? files.map((f) => loadFile(f, flags.workflowId)) : [await fetchHistory(flags.workflowId!, flags)];

  quietRuntime();
  progress('bundling workflows…');
  const bundle = await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quietLogger });

  const results: Result[] = [];
  for (const item of loaded) {
    const events = item.history.events?.length ?? 0;
    const workflowType = item.history.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? undefined;
    progress(`replaying ${item.source} (${events} events, ${workflowType ?? 'unknown type'})…`);
    try {
      await Worker.runReplayHistory({ workflowBundle: bundle }, item.history, item.workflowId);
      results.push({ source: item.source, workflowId: item.workflowId, workflowType, events, ok: true });
    } catch (err) {
      results.push({ source: item.source, workflowId: item.workflowId, workflowType, events, ok: false, error: describeFailure(err, item.history) });
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
  let connection: Connection;
  try {
    connection = await Connection.connect({ ...connectionOptions(temporal), connectTimeout: '5s' });
  } catch (err) {
    throw new Error(`cannot reach Temporal at ${temporal.address}: ${(err as Error).message.split('\n')[0]}`);
  }
  try {
    const client = new Client({ connection, namespace: temporal.namespace });
    const history = await client.workflow.getHandle(workflowId, flags.runId).fetchHistory();
    return { source: `workflow ${workflowId}`, history, workflowId };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError || /not found/i.test((err as Error).message)) {
      throw new UsageError(`workflow ${workflowId}${flags.runId ? ` run ${flags.runId}` : ''} not found in namespace ${temporal.namespace}`);
    }
    throw err;
  } finally {
    await connection.close();
  }
}

/**
 * One line: what does not match. Core's message ("Activity type of scheduled event 'x' does not match activity
 * type of activity command 'y'") is dug out of the SDK's wrapping, and the history event it names is added.
 */
function describeFailure(err: unknown, history: History): string {
  const e = err as Error | undefined;
  const message = (e?.message ?? String(err)).replace(/\s+/g, ' ').trim();
  if (e?.name !== 'DeterminismViolationError' && !/nondetermin/i.test(message)) return `replay failed: ${message}`;
  const inner = /message: "((?:[^"\\]|\\.)*)"/.exec(message)?.[1] ?? message;
  const reason = inner.replace(/^\[TMPRL\d+\]\s*/, '').replace(/^Nondeterminism error:\s*/i, '');
  const event = namedEvent(reason, history);
  return `nondeterminism: ${reason}${event ? ` (history event ${event})` : ''}`;
}

/** The first history event holding a name quoted in the message, as "5 ActivityTaskScheduled". */
function namedEvent(reason: string, history: History): string | undefined {
  for (const [, name] of reason.matchAll(/'([^']+)'/g)) {
    for (const event of history.events ?? []) {
      const entry = Object.entries(event).find(([key, value]) => key.endsWith('EventAttributes') && value);
      if (entry && JSON.stringify(entry[1]).includes(JSON.stringify(name))) {
        const kind = entry[0].replace(/EventAttributes$/, '');
        return `${String(event.eventId)} ${kind.charAt(0).toUpperCase()}${kind.slice(1)}`;
      }
    }
  }
  return undefined;
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
