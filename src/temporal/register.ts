/**
 * The namespace and the Forge search attributes on it: every worker and client repairs a fresh namespace's
 * attributes; `forge-jobs setup` and the cluster launcher also register the namespace.
 */
import { isGrpcServiceError, type Connection } from '@temporalio/client';
import { msNumberToTs, tsToMs } from '@temporalio/common/lib/time';
import {
  DEFAULT_NAMESPACE,
  GRPC_STATUS,
  INDEXED_VALUE_TYPE,
  SEARCH_ATTRIBUTES,
  SEARCH_ATTRIBUTE_TYPES,
  type SearchAttributeName,
} from '../names';

export { INDEXED_VALUE_TYPE };

/**
 * Registers the Forge search attributes on a namespace; safe to call on every start and from
 * several processes at once. On the dev server the flags already did it; real clusters need this.
 */
export async function ensureSearchAttributes(
  connection: Pick<Connection, 'operatorService'>,
  namespace: string = DEFAULT_NAMESPACE,
  names: readonly SearchAttributeName[] = SEARCH_ATTRIBUTES,
): Promise<void> {
  const existing = await listCustomSearchAttributes(connection, namespace);
  const typeOf = (name: SearchAttributeName) => INDEXED_VALUE_TYPE[SEARCH_ATTRIBUTE_TYPES[name]];
  const missing = names.filter((name) => !(name in existing));
  const wrongType = names.filter((name) => name in existing && existing[name] !== typeOf(name));
  if (wrongType.length > 0) {
    throw new Error(
      `search attributes exist on namespace ${namespace} with another type: ${wrongType.map((n) => `${n} (want ${SEARCH_ATTRIBUTE_TYPES[n]})`).join(', ')}`,
    );
  }
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, typeOf(name)])),
    });
  } catch (error) {
    // Another process may have added them between our list and add.
    if (!(isGrpcServiceError(error) && error.code === GRPC_STATUS.ALREADY_EXISTS)) throw error;
  }
}

/** Custom search attribute names mapped to their IndexedValueType number. */
export async function listCustomSearchAttributes(
  connection: Pick<Connection, 'operatorService'>,
  namespace: string = DEFAULT_NAMESPACE,
): Promise<Record<string, number>> {
  const response = await connection.operatorService.listSearchAttributes({ namespace });
  const result: Record<string, number> = {};
  for (const [name, type] of Object.entries(response.customAttributes ?? {})) result[name] = Number(type);
  return result;
}

/** The namespace's retention in ms, or undefined when the namespace does not exist. */
export async function namespaceRetentionMs(
  connection: Pick<Connection, 'workflowService'>,
  namespace: string,
): Promise<number | undefined> {
  try {
    const response = await connection.workflowService.describeNamespace({ namespace });
    return tsToMs(response.config?.workflowExecutionRetentionTtl);
  } catch (err) {
    if (isGrpcServiceError(err) && err.code === GRPC_STATUS.NOT_FOUND) return undefined;
    throw err;
  }
}

/** Registers a namespace; false when another process registered it first. */
export async function registerNamespace(
  connection: Pick<Connection, 'workflowService'>,
  namespace: string,
  retentionMs: number,
): Promise<boolean> {
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: msNumberToTs(retentionMs) });
    return true;
  } catch (err) {
    if (isGrpcServiceError(err) && err.code === GRPC_STATUS.ALREADY_EXISTS) return false;
    throw err;
  }
}

/** Registers the namespace when it is missing; safe from several processes. True when this call created it. */
export async function ensureNamespace(
  connection: Pick<Connection, 'workflowService'>,
  namespace: string,
  retentionMs: number,
): Promise<boolean> {
  if ((await namespaceRetentionMs(connection, namespace)) !== undefined) return false;
  return registerNamespace(connection, namespace, retentionMs);
}
