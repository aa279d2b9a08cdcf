/** One line saying why a history no longer replays against the workflow code. */
import type { History } from '@temporalio/common/lib/proto-utils';

/**
 * Core's message ("Activity type of scheduled event 'x' does not match activity type of activity command
 * 'y'") is dug out of the SDK's wrapping, and the history event it names is added.
 */
export function describeReplayFailure(err: unknown, history: History): string {
  const e = err as Error | undefined;
  const message = (e?.message ?? String(err)).replace(/\s+/g, ' ').trim();
  if (!isNondeterminism(err)) return `replay failed: ${message}`;
  const inner = /message: "((?:[^"\\]|\\.)*)"/.exec(message)?.[1] ?? message;
  const reason = inner.replace(/^\[TMPRL\d+\]\s*/, '').replace(/^Nondeterminism error:\s*/i, '');
  const event = namedEvent(reason, history);
  return `nondeterminism: ${reason}${event ? ` (history event ${event})` : ''}`;
}

export function isNondeterminism(err: unknown): boolean {
  const e = err as Error | undefined;
  return e?.name === 'DeterminismViolationError' || /nondetermin/i.test(e?.message ?? String(err));
}

/** The first history event holding a name quoted in the message, as "5 ActivityTaskScheduled". */
function namedEvent(reason: string, history: History): string | undefined {
  const patch = /patch marker encountered for change (\S+?),/.exec(reason)?.[1];
  if (patch) return patchMarker(patch, history);
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

/** The MarkerRecorded event of a `patched(id)` call: its id is in the marker's payload, not its name. */
function patchMarker(id: string, history: History): string | undefined {
  for (const event of history.events ?? []) {
    const payloads = event.markerRecordedEventAttributes?.details?.['patch-data']?.payloads ?? [];
    if (payloads.some((p) => p.data && Buffer.from(p.data).toString('utf8').includes(JSON.stringify(id)))) {
      return `${String(event.eventId)} MarkerRecorded`;
    }
  }
  return undefined;
}
