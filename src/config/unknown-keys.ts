/**
 * Keys forge.runtime.toml has inside a section forge-jobs reads but that forge-jobs does not know: a typo
 * (`[email] prot = 2525`) would otherwise be silently ignored. Each becomes a warning naming its path,
 * with the nearest known key when one is close. Unknown sections stay Forge's business and are not looked
 * at, and so does [database], whose keys Forge's runtime reads too (pool sizes, SSL modes).
 */
import { childPath, isTable, type Table } from './values';

const KNOWN: Record<string, readonly string[]> = {
  email: ['host', 'port', 'user', 'password', 'from', 'tls', 'rate', 'connections'],
  // sub-tables of [jobs] are per-job templates, whose keys are the template's own
  jobs: [
    'concurrency',
    'timeout',
    'max_attempts',
    'task_queue',
    'max_record_bytes',
    'max_targets',
    'start_deadline',
    'completed_retention',
  ],
  temporal: ['address', 'namespace', 'tls', 'api_key'],
  'temporal.tls': ['client_cert', 'client_key', 'server_root_ca_cert', 'server_name'],
  http: ['allow', 'timeout', 'rate'],
};

export function unknownKeyWarnings(doc: Table): string[] {
  const warnings: string[] = [];
  for (const [section, known] of Object.entries(KNOWN)) {
    const table = section.split('.').reduce<unknown>((t, key) => (isTable(t) ? t[key] : undefined), doc);
    if (!isTable(table)) continue;
    for (const [key, value] of Object.entries(table)) {
      if (known.includes(key)) continue;
      if (section === 'jobs' && isTable(value)) continue;
      const near = nearest(key, known);
      warnings.push(`${childPath(section, key)}: unknown key in [${section}], ignored${near ? ` (did you mean "${near}"?)` : ''}`);
    }
  }
  return warnings;
}

function nearest(key: string, known: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const name of known) {
    const distance = editDistance(key.toLowerCase(), name);
    const close = distance <= (name.length <= 4 ? 1 : 2) || (key.length >= 3 && name.startsWith(key.toLowerCase()));
    if (close && (!best || distance < best.distance)) best = { name, distance };
  }
  return best?.name;
}

/** Levenshtein distance with adjacent transpositions counted as one edit ("prot" → "port"). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}
