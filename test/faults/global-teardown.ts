/** Prints the table of every fault round of the run (rows appended by test/faults/harness.ts record()). */
import { existsSync, readFileSync } from 'node:fs';
import type { FaultRow } from './harness';

export default async function globalTeardown(): Promise<void> {
  const file = process.env.FORGE_FAULTS_RESULTS;
  if (!file || !existsSync(file)) return;
  const rows = readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as FaultRow);
  const started = (globalThis as Record<string, unknown>).__faultsStarted as number | undefined;
  process.stdout.write('\n' + formatTable(rows) + '\n');
  const total = (k: 'jobs' | 'completed' | 'dead' | 'lost' | 'duplicates') => rows.reduce((a, r) => a + r[k], 0);
  process.stdout.write(
    `totals: ${rows.length} rounds, ${total('jobs')} jobs, ${total('completed')} completed, ${total('dead')} dead (expected only where the fault says so), ` +
      `${total('lost')} lost, ${total('duplicates')} duplicate deliveries${started ? `, ${Math.round((Date.now() - started) / 1000)} s` : ''}\n`,
  );
  const skips = rows.reduce((a, r) => a + (r.ledgerSkips ?? 0), 0);
  process.stdout.write(
    `duplicates: the effect ledger skipped ${skips} re-send(s) whose first send had been confirmed before the fault (each would have been a duplicate). ` +
      `Sends run in the worker's courier process, which writes the ledger row before it answers and outlives a killed worker, so a send ` +
      `in flight at the kill is finished and recorded before Temporal retries it.\n`,
  );
}

function formatTable(rows: FaultRow[]): string {
  const head = ['scenario', 'round', 'fault', 'jobs', 'completed', 'dead', 'lost', 'duplicates', 'note'];
  const body = rows.map((r) => [
    r.scenario,
    r.round,
    r.fault,
    String(r.jobs),
    String(r.completed),
    String(r.dead),
    String(r.lost),
    String(r.duplicates),
    r.note ?? '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i].length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i >= 3 && i <= 7 ? c.padStart(widths[i]) : c.padEnd(widths[i])))
      .join(' | ')
      .trimEnd();
  return [line(head), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(line)].join('\n');
}
