import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** True while a process with this pid exists (EPERM means it exists but belongs to someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return !isZombie(pid);
}

/**
 * An exited process whose parent hasn't reaped it still answers kill(0). Orphans are reaped by pid 1,
 * and in some containers pid 1 never does, so a zombie counts as gone.
 */
function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals, orLeader: boolean): void {
  try {
    // A negative pid addresses the whole process group, so helpers the child spawned die with it.
    process.kill(-pid, signal);
  } catch {
    if (!orLeader) return;
    try {
      process.kill(pid, signal);
    } catch {
      /* already gone */
    }
  }
}

/**
 * Stops a child started with `detached: true` (its own process group): SIGTERM, then SIGKILL once the
 * grace period is over. Resolves when the child has exited.
 */
export async function stopProcessGroup(child: ChildProcess, graceMs = 5000): Promise<void> {
  const pid = child.pid;
  if (pid === undefined) return;
  const exited =
    child.exitCode !== null || child.signalCode !== null
      ? Promise.resolve()
      : new Promise<void>((resolve) => child.once('exit', () => resolve()));
  signalGroup(pid, 'SIGTERM', true);
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), graceMs);
  });
  const outcome = await Promise.race([exited.then(() => 'exited' as const), timedOut]);
  clearTimeout(timer);
  if (outcome === 'timeout') {
    signalGroup(pid, 'SIGKILL', true);
    await exited;
  }
  // Grandchildren that outlived the leader still hold the group id (so it can't have been reused):
  // make sure they go too. The leader's own pid may be reused by now, so only the group is addressed.
  signalGroup(pid, 'SIGKILL', false);
}

/** Resolves when `pid` is gone, or false after `timeoutMs`. */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid)) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return true;
}
