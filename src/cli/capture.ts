/**
 * `forge-jobs capture install | status | remove`: the triggers that write every committed row of a hooked
 * entity into the outbox, whatever wrote it (src/capture).
 */
import type { Command } from 'commander';
import { captureStatus, installCapture, maxRecordBytes, removeCapture, type CaptureChange, type CaptureStatusEntry } from '../admin';
import { loadCliArtifact, loadConfig, openPool, redactUrl, resolveDatabaseUrl } from './config';
import { print, printJson, progress } from './format';
import {
  artifactOption,
  configOptions,
  databaseOption,
  jsonOption,
  type ArtifactFlags,
  type ConfigFlags,
  type DatabaseFlags,
  type JsonFlags,
} from './options';
import { renderTable } from './table';

type CaptureFlags = ArtifactFlags & ConfigFlags & DatabaseFlags & JsonFlags;

export function registerCaptureCommands(cli: Command): void {
  const capture = cli
    .command('capture')
    .description("database capture: triggers on the hooked entities' tables write every committed row into the outbox, whatever wrote it")
    .showHelpAfterError(false);

  withFlags(capture.command('install'))
    .description(
      "create or update the triggers of the artifact's after hooks, and drop those it no longer has, in one transaction; idempotent",
    )
    .action((flags: CaptureFlags) => installCommand(flags));
  withFlags(capture.command('status'))
    .description(
      'list the triggers: installed, missing, stale (differs from the artifact) or extra (no longer in it); exit 1 unless all are installed',
    )
    .action((flags: CaptureFlags) => statusCommand(flags));
  databaseOption(configOptions(jsonOption(capture.command('remove'))))
    .description('drop every trigger and function capture install created')
    .action((flags: CaptureFlags) => removeCommand(flags));
}

function withFlags(cmd: Command): Command {
  artifactOption(cmd);
  configOptions(cmd);
  databaseOption(cmd);
  return jsonOption(cmd);
}

async function withPool<T>(flags: CaptureFlags, fn: (pool: Awaited<ReturnType<typeof openPool>>) => Promise<T>): Promise<T> {
  const url = resolveDatabaseUrl(flags, loadConfig(flags));
  progress(`capture: ${redactUrl(url)}`);
  const pool = await openPool(url, 2);
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

export async function installCommand(flags: CaptureFlags): Promise<void> {
  const config = loadConfig(flags);
  const artifact = loadCliArtifact(flags, config);
  const changes = await withPool(flags, (pool) => installCapture(pool, artifact, maxRecordBytes(config)));
  if (flags.json) return printJson({ changes });
  print(renderChanges(changes));
}

export async function statusCommand(flags: CaptureFlags): Promise<void> {
  const config = loadConfig(flags);
  const artifact = loadCliArtifact(flags, config);
  const status = await withPool(flags, (pool) => captureStatus(pool, artifact, maxRecordBytes(config)));
  if (flags.json) printJson(status);
  else print(renderStatus(status.entries));
  if (!status.ok) process.exitCode = 1;
}

export async function removeCommand(flags: CaptureFlags): Promise<void> {
  const changes = await withPool(flags, (pool) => removeCapture(pool));
  if (flags.json) return printJson({ changes });
  print(renderChanges(changes, 'no capture triggers installed'));
}

function renderStatus(entries: CaptureStatusEntry[]): string {
  return renderTable(
    entries,
    [
      { header: 'ENTITY', value: (e) => e.entity },
      { header: 'OPERATION', value: (e) => e.operation },
      { header: 'TABLE', value: (e) => e.table },
      { header: 'TRIGGER', value: (e) => e.trigger },
      { header: 'STATE', value: (e) => e.state },
    ],
    'the artifact has no after hooks, and no capture triggers are installed',
  );
}

function renderChanges(changes: CaptureChange[], empty = 'the artifact has no after hooks: nothing to capture'): string {
  return renderTable(
    changes,
    [
      { header: 'ENTITY', value: (c) => c.entity },
      { header: 'OPERATION', value: (c) => c.operation },
      { header: 'TABLE', value: (c) => c.table },
      { header: 'TRIGGER', value: (c) => c.trigger },
      { header: 'ACTION', value: (c) => c.action },
    ],
    empty,
  );
}
