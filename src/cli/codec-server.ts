/** `forge-jobs codec-server`: the remote codec the Temporal Web UI calls to show encrypted payloads decoded. */
import type { Command } from 'commander';
import { codecFromEnv, DEFAULT_CODEC_PORT, DEFAULT_CORS_ORIGINS, startCodecServer } from '../admin';

export interface CodecServerFlags {
  port: string;
  host: string;
  corsOrigin?: string[];
}

export async function codecServerCommand(flags: CodecServerFlags): Promise<void> {
  const codec = codecFromEnv(process.env);
  if (!codec)
    throw new Error(
      'codec-server: no key: set FORGE_CODEC_KEY (base64 of 32 bytes) and FORGE_CODEC_KEY_ID, and FORGE_CODEC_KEYS for retired keys',
    );
  const port = Number(flags.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`codec-server: --port ${flags.port} is not a port`);
  const server = await startCodecServer({
    codec,
    port,
    host: flags.host,
    corsOrigins: flags.corsOrigin && flags.corsOrigin.length > 0 ? flags.corsOrigin : DEFAULT_CORS_ORIGINS,
    log: (line) => process.stderr.write(line + '\n'),
  });
  process.stdout.write(`codec server on ${server.url}: start the UI with --ui-codec-endpoint ${server.url}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => void server.close().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
}

export function registerCodecServerCommand(cli: Command): void {
  cli
    .command('codec-server')
    .description('serve POST /decode and /encode for the Temporal Web UI (--ui-codec-endpoint), with the keys in FORGE_CODEC_KEY*')
    .option('--port <port>', 'port to listen on', String(DEFAULT_CODEC_PORT))
    .option('--host <host>', 'address to bind (it decrypts whatever it is sent: keep it private)', '127.0.0.1')
    .option(
      '--cors-origin <url>',
      `a Web UI origin allowed to call it, repeatable (default ${DEFAULT_CORS_ORIGINS.join(', ')})`,
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(codecServerCommand);
}
