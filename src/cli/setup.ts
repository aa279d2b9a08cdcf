/**
 * `forge-jobs setup`: prepares a Temporal cluster for forge-jobs, idempotently. Registers the namespace when
 * it does not exist, sets its retention (default 30 days), and registers the Forge search attributes.
 *
 * Retention is per namespace in Temporal: completed, failed and dead job workflows are all kept for it and
 * then deleted. To keep dead jobs longer, run a longer retention or enable archival on the namespace.
 */
import { Connection, isGrpcServiceError } from '@temporalio/client';
import { msNumberToTs } from '@temporalio/common/lib/time';
import type { TemporalConfig } from '../index';
import {
  GRPC_STATUS,
  SEARCH_ATTRIBUTE_TYPES,
  connectionOptions,
  ensureSearchAttributes,
  listCustomSearchAttributes,
  namespaceRetentionMs,
  registerNamespace,
} from '../admin';
import { UsageError, formatDuration, loadConfig, parseRetention, resolveTemporal } from './config';
import { print, printJson, progress, table } from './format';
import { DEFAULT_RETENTION, type ConfigFlags, type JsonFlags, type TemporalFlags } from './options';

export type SetupFlags = ConfigFlags & TemporalFlags & JsonFlags & { retention?: string | false; wait?: string };

interface SetupReport {
  address: string;
  namespace: string;
  namespaceCreated: boolean;
  retention: { before: string | null; after: string | null; changed: boolean };
  searchAttributes: { name: string; type: string; added: boolean }[];
}

export async function setupCommand(flags: SetupFlags): Promise<void> {
  const temporal = resolveTemporal(flags, loadConfig(flags));
  // --no-retention leaves an existing namespace's retention alone; a new namespace still needs one.
  const retentionMs = parseRetention(flags.retention === false ? DEFAULT_RETENTION : (flags.retention ?? DEFAULT_RETENTION));
  const waitMs = flags.wait === undefined ? 60_000 : Number(flags.wait) * 1000;
  if (!(waitMs >= 0)) throw new UsageError(`--wait must be a number of seconds, got ${JSON.stringify(flags.wait)}`);

  progress(`connecting to Temporal at ${temporal.address}…`);
  const connection = await connect(temporal);
  try {
    const report: SetupReport = {
      address: temporal.address,
      namespace: temporal.namespace,
      namespaceCreated: false,
      retention: { before: null, after: null, changed: false },
      searchAttributes: [],
    };
    const service = connection.workflowService;
    const current = await namespaceRetentionMs(connection, temporal.namespace);
    if (current === undefined) {
      progress(`registering namespace ${temporal.namespace} (retention ${formatDuration(retentionMs)})…`);
      // false: another setup registered it between our describe and register
      report.namespaceCreated = await registerNamespace(connection, temporal.namespace, retentionMs);
      report.retention = { before: null, after: formatDuration(retentionMs), changed: true };
    }
    if (!report.namespaceCreated) {
      const before = current ?? (await namespaceRetentionMs(connection, temporal.namespace));
      report.retention.before = before === undefined ? null : formatDuration(before);
      report.retention.after = report.retention.before;
      if (flags.retention !== false && before !== retentionMs) {
        progress(`setting the retention of ${temporal.namespace} to ${formatDuration(retentionMs)}…`);
        await service.updateNamespace({
          namespace: temporal.namespace,
          config: { workflowExecutionRetentionTtl: msNumberToTs(retentionMs) },
        });
        report.retention = { before: report.retention.before, after: formatDuration(retentionMs), changed: true };
      }
    }

    progress(`registering search attributes on ${temporal.namespace}…`);
    const existing = await untilNamespaceServes(temporal.namespace, waitMs, () =>
      listCustomSearchAttributes(connection, temporal.namespace),
    );
    await untilNamespaceServes(temporal.namespace, waitMs, () => ensureSearchAttributes(connection, temporal.namespace));
    report.searchAttributes = Object.entries(SEARCH_ATTRIBUTE_TYPES).map(([name, type]) => ({ name, type, added: !(name in existing) }));

    if (flags.json) {
      printJson(report);
      return;
    }
    const ns = report.namespaceCreated ? 'created' : 'exists';
    const retention = report.retention.changed
      ? report.retention.before
        ? `${report.retention.before} → ${report.retention.after}`
        : `${report.retention.after}`
      : `${report.retention.after ?? 'unknown'} (unchanged)`;
    print(`namespace ${temporal.namespace} on ${temporal.address}: ${ns}, retention ${retention}`);
    print(
      table(
        ['search attribute', 'type', 'status'],
        report.searchAttributes.map((a) => [a.name, a.type, a.added ? 'added' : 'present']),
      ),
    );
    const changes =
      Number(report.namespaceCreated) + Number(report.retention.changed) + report.searchAttributes.filter((a) => a.added).length;
    print(changes === 0 ? 'nothing to do: already set up' : 'set up');
  } finally {
    await connection.close();
  }
}

async function connect(temporal: TemporalConfig): Promise<Connection> {
  try {
    return await Connection.connect({ ...connectionOptions(temporal), connectTimeout: '5s' });
  } catch (err) {
    throw new Error(`cannot reach Temporal at ${temporal.address}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/**
 * A namespace just registered is unknown to the frontend's namespace cache for a few seconds; operator
 * calls answer NOT_FOUND until it refreshes. Retries those, with a progress line, until `waitMs`.
 */
async function untilNamespaceServes<T>(namespace: string, waitMs: number, call: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + waitMs;
  let told = false;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      const notYet = isGrpcServiceError(err) ? err.code === GRPC_STATUS.NOT_FOUND : /namespace .*not found/i.test((err as Error).message);
      if (!notYet || Date.now() >= deadline) throw err;
      if (!told) progress(`waiting for namespace ${namespace} to be served…`);
      told = true;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}
