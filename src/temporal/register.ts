/**
 * The Forge search attributes on a namespace: product code (every worker and client repairs a fresh
 * namespace), also used by the dev server and cluster launchers.
 */
import { isGrpcServiceError, type Connection } from '@temporalio/client';
import { DEFAULT_NAMESPACE, SEARCH_ATTRIBUTES, SEARCH_ATTRIBUTE_TYPES, type SearchAttributeName } from '../shared';

/** temporal.api.enums.v1.IndexedValueType numbers. */
export const INDEXED_VALUE_TYPE = { Keyword: 2, Int: 3 } as const;
const ALREADY_EXISTS = 6; // gRPC status code

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
    if (!(isGrpcServiceError(error) && error.code === ALREADY_EXISTS)) throw error;
  }
}

/** Custom search attribute names mapped to their IndexedValueType number. */
export async function listCustomSearchAttributes(connection: Pick<Connection, 'operatorService'>, namespace: string = DEFAULT_NAMESPACE): Promise<Record<string, number>> {
  const response = await connection.operatorService.listSearchAttributes({ namespace });
  const result: Record<string, number> = {};
  for (const [name, type] of Object.entries(response.customAttributes ?? {})) result[name] = Number(type);
  return result;
}
