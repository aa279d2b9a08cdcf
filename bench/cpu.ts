/**
 * CPU time of the bench's process tree (this process, the workers and their couriers, Temporal, Postgres), by
 * kind of process. On a machine that other work shares, wall times swing with its load; CPU seconds per send
 * say what the send path itself costs, and where.
 */
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = 100;

export type CpuSnapshot = Map<string, number>;

interface Proc {
  pid: number;
  ppid: number;
  /** user + system seconds of the process and of its children it has waited for */
  seconds: number;
}

function processes(): Proc[] {
  const all: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // fields after "pid (comm) ": state ppid … utime(14) stime(15) cutime(16) cstime(17), counted from 1
      const fields = readFileSync(`/proc/${name}/stat`, 'utf8').split(') ')[1].split(' ');
      const ticks = Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14]);
      all.push({ pid: Number(name), ppid: Number(fields[1]), seconds: ticks / CLK_TCK });
    } catch {
      // exited meanwhile
    }
  }
  return all;
}

function kind(pid: number, self: number): string {
  if (pid === self) return 'bench';
  let args: string[];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return 'other';
  }
  // the program and the script it runs, never the rest: a worker's arguments hold its config (a postgres:// URL)
  const program = args[0];
  const scripts = args.slice(1).filter((a) => /\.(js|ts)$/.test(a));
  if (scripts.some((a) => /courier[/\\]child\.(js|ts)$/.test(a))) return 'courier';
  if (scripts.some((a) => /(forge-worker|worker-child)\.(js|ts)$/.test(a))) return 'worker';
  if (/(^|\/)postgres(:|$)/.test(program)) return 'postgres';
  if (/temporal$/.test(program)) return 'temporal';
  return 'other';
}

/** CPU seconds so far of every process below this one (and this one), summed by kind. */
export function cpuSnapshot(root = process.pid): CpuSnapshot {
  const all = processes();
  const children = new Map<number, Proc[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const totals: CpuSnapshot = new Map();
  const stack = all.filter((p) => p.pid === root);
  while (stack.length > 0) {
    const p = stack.pop()!;
    const k = kind(p.pid, root);
    totals.set(k, (totals.get(k) ?? 0) + p.seconds);
    stack.push(...(children.get(p.pid) ?? []));
  }
  return totals;
}

/** Milliseconds of CPU per unit of work between two snapshots, by kind and in all. */
export function cpuPerUnitMs(before: CpuSnapshot, after: CpuSnapshot, units: number): Record<string, number> {
  const out: Record<string, number> = {};
  let total = 0;
  for (const [k, seconds] of after) {
    // a process that exited between the snapshots leaves its kind's total lower: counted as zero, not negative
    const used = Math.max(0, seconds - (before.get(k) ?? 0));
    out[k] = Math.round(((used * 1000) / units) * 1000) / 1000;
    total += used;
  }
  out.total = Math.round(((total * 1000) / units) * 1000) / 1000;
  return out;
}
