import { resolve } from 'node:path';
import { startDevStack, DevStackInterrupted, type DevStack } from '../admin';

const EXAMPLE = resolve(__dirname, '..', '..', 'examples', 'helpdesk');

export interface DevFlags {
  artifact?: string;
  config?: string;
  schema?: string;
  seed?: string;
  port?: string;
  capture?: boolean;
}

export async function devCommand(flags: DevFlags): Promise<void> {
  const example = !flags.artifact;
  // Installed before anything starts: a Ctrl-C while starting stops what has started, too.
  const interrupted = new AbortController();
  let onSignal: () => void = () => interrupted.abort();
  const signalled = () => onSignal();
  process.on('SIGINT', signalled);
  process.on('SIGTERM', signalled);
  const unlisten = () => {
    process.off('SIGINT', signalled);
    process.off('SIGTERM', signalled);
  };
  let stack: DevStack;
  try {
    stack = await startDevStack({
      artifact: flags.artifact ?? resolve(EXAMPLE, 'artifact.json'),
      config: flags.config ?? resolve(EXAMPLE, 'forge.runtime.toml'),
      schema: flags.schema,
      migrate: example,
      seed: flags.seed ?? (example ? resolve(EXAMPLE, 'seed.sql') : undefined),
      appPort: flags.port ? Number(flags.port) : undefined,
      capture: flags.capture,
      log: (line) => process.stderr.write(`  ${line}\n`),
      signal: interrupted.signal,
    });
  } catch (err) {
    unlisten();
    if (err instanceof DevStackInterrupted) process.exitCode = 130;
    throw err;
  }
  const u = stack.urls;
  process.stdout.write(
    [
      '',
      'forge-jobs dev is running',
      `  Temporal Web UI   ${u.ui}`,
      `  Temporal          ${u.temporal}`,
      `  Postgres          ${u.postgres}`,
      `  SMTP              ${u.smtp}`,
      `  Mail (captured)   ${u.mail}`,
      `  App               ${u.app}/api/actions/create_ticket`,
      `  Temporal's log    ${stack.temporalLog}`,
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((done) => {
    let stopping = false;
    onSignal = () => {
      if (stopping) return void process.stdout.write('still stopping…\n');
      stopping = true;
      process.stdout.write('stopping…\n');
      stack.stop().then(
        (stopped) => {
          process.stdout.write(`stopped ${stopped.join(', ')}. Temporal's log: ${stack.temporalLog}\n`);
          done();
        },
        () => done(),
      );
    };
  });
  unlisten();
}
