import { resolve } from 'node:path';
import { startDevStack } from '../index';

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
  const stack = await startDevStack({
    artifact: flags.artifact ?? resolve(EXAMPLE, 'artifact.json'),
    config: flags.config ?? resolve(EXAMPLE, 'forge.runtime.toml'),
    schema: flags.schema,
    migrate: example,
    seed: flags.seed ?? (example ? resolve(EXAMPLE, 'seed.sql') : undefined),
    appPort: flags.port ? Number(flags.port) : undefined,
    capture: flags.capture,
    log: (line) => process.stderr.write(`  ${line}\n`),
  });
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
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  await new Promise<void>((done) => {
    const quit = () => {
      process.off('SIGINT', quit);
      process.off('SIGTERM', quit);
      process.stdout.write('stopping…\n');
      stack.stop().then(done, done);
    };
    process.on('SIGINT', quit);
    process.on('SIGTERM', quit);
  });
}
