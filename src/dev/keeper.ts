/**
 * A keeper for a child started in its own process group (the Temporal dev server): a tiny node process,
 * itself in a group of its own, that holds a pipe from us. When the pipe closes — we stopped it, exited,
 * crashed, or our whole process group was killed, SIGKILL included — it stops the child's group
 * (SIGTERM, then SIGKILL after the grace period) and exits. Nothing we started outlives us.
 */
import { spawn, type ChildProcess } from 'node:child_process';

const KEEPER = `
const [pid, graceMs] = process.argv.slice(1).map(Number);
const alive = () => { try { process.kill(pid, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
const signal = (s) => { try { process.kill(-pid, s); } catch { try { process.kill(pid, s); } catch {} } };
const stop = () => {
  signal('SIGTERM');
  const started = Date.now();
  const tick = setInterval(() => {
    if (!alive()) process.exit(0);
    if (Date.now() - started > graceMs) { signal('SIGKILL'); process.exit(0); }
  }, 50);
};
process.stdin.on('end', stop);
process.stdin.on('error', stop);
process.stdin.on('close', stop);
process.stdin.resume();
`;

export interface Keeper {
  /** closes the pipe: the keeper stops the child's group (if still running) and exits */
  release(): void;
}

export function keepWhileAlive(child: ChildProcess, graceMs = 5000): Keeper {
  if (child.pid === undefined) return { release: () => undefined };
  const keeper = spawn(process.execPath, ['-e', KEEPER, String(child.pid), String(graceMs)], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  keeper.on('error', () => undefined);
  keeper.stdin?.on('error', () => undefined);
  // Neither the keeper nor its pipe keeps our event loop alive.
  keeper.unref();
  (keeper.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  return { release: () => keeper.stdin?.end() };
}
