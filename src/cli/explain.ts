/**
 * `forge-jobs explain <job> --record '<json>'`: what the job's needs would resolve for that record, hop by
 * hop (the SQL, its bind parameters, how many rows), and the targets. Runs the SELECTs in a read-only
 * transaction that is rolled back; no effect runs and no workflow starts.
 */
import { readFileSync } from 'node:fs';
import type { Artifact, JobDef } from '../index';
import { explainNeeds, resolveArtifactWithDatabase, type HopExplanation } from '../admin';
import { UsageError, loadCliArtifact, loadConfig, openPool, redactUrl, resolveDatabaseUrl } from './config';
import { cell, print, printJson, progress, shorten, table, toJson } from './format';
import type { ArtifactFlags, ConfigFlags, DatabaseFlags, JsonFlags } from './options';

export type ExplainFlags = ArtifactFlags & ConfigFlags & DatabaseFlags & JsonFlags & { record?: string; columns?: string };

type Row = Record<string, unknown>;

export async function explainCommand(jobName: string, flags: ExplainFlags): Promise<void> {
  const record = parseRecord(flags.record);
  const config = loadConfig(flags);
  const loaded = loadCliArtifact(flags, config);
  let job = findJob(loaded, jobName);
  let artifact = loaded;
  const url = resolveDatabaseUrl(flags, config);

  if (!flags.json) progress(`resolving the needs of ${job.name} on ${redactUrl(url)}…`);
  const pool = await openPool(url, 1);
  let explanation: Awaited<ReturnType<typeof explainNeeds>>;
  try {
    const client = await pool.connect();
    try {
      await client.query('BEGIN READ ONLY');
      try {
        artifact = await resolveArtifactWithDatabase(loaded, config, client);
        job = findJob(artifact, jobName);
        explanation = await explainNeeds({ query: client, artifact, job, record });
      } finally {
        await client.query('ROLLBACK').catch(() => undefined);
      }
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }

  const hops = explanation.hops.map((h) => ({
    path: h.path,
    hop: h.hop,
    ...(h.storage ? { storage: h.storage } : {}),
    sql: h.sql,
    values: h.values,
    rowCount: h.rows.length,
    ...(h.note ? { note: h.note } : {}),
  }));
  if (flags.json) {
    printJson({
      job: job.name,
      inputEntity: job.input_entity,
      targetEntity: explanation.targetEntity,
      capabilities: job.capabilities,
      needs: job.needs.map((n) => n.text),
      filter: job.needs_filter || null,
      queries: explanation.queries,
      hops,
      targets: explanation.targets,
    });
    return;
  }

  const needs = job.needs.length > 0 ? job.needs.map((n) => n.text).join(', ') : '(the trigger record)';
  print(`${job.name}: ${job.input_entity} → ${explanation.targetEntity}  capabilities ${job.capabilities.join(', ') || '(none)'}`);
  print(`needs ${needs}${job.needs_filter ? `  where ${job.needs_filter}` : ''}`);
  const several = new Set(explanation.hops.map((h) => h.path)).size > 1;
  let path = '';
  let n = 0;
  for (const hop of explanation.hops) {
    if (several && hop.path !== path) {
      print('');
      print(`path ${hop.path}`);
      n = 0;
    }
    path = hop.path;
    printHop(hop, ++n);
  }
  print('');
  const targets = explanation.targets;
  print(
    `${targets.length} target${targets.length === 1 ? '' : 's'} (${explanation.targetEntity}), ${explanation.queries} SQL statement${explanation.queries === 1 ? '' : 's'}; no effect was run`,
  );
  if (targets.length > 0) {
    const columns = pickColumns(targets, artifact, explanation.targetEntity, flags.columns);
    print(
      table(
        columns,
        targets.map((t) => columns.map((c) => cell(t[c]))),
      ),
    );
  }
}

function printHop(hop: HopExplanation, n: number): void {
  print('');
  print(`hop ${n}  ${hop.hop}`);
  if (hop.storage) print(`  storage ${hop.storage}`);
  if (hop.sql === null) {
    print(`  no SQL: ${hop.note ?? 'nothing to look up'}`);
  } else {
    print(`  ${hop.sql}`);
    hop.values.forEach((v, i) => print(`  $${i + 1} = ${shorten(toJson(v), 300)}`));
  }
  print(`  → ${hop.rows.length} row${hop.rows.length === 1 ? '' : 's'}`);
}

/** --record '<json>' or --record @file.json: one JSON object, the committed row. */
function parseRecord(text: string | undefined): Row {
  if (text === undefined) throw new UsageError(`--record '<json>' is required (the committed row, e.g. '{"id": 1, "org_id": 2}')`);
  let source = text;
  if (text.startsWith('@')) {
    try {
      source = readFileSync(text.slice(1), 'utf8');
    } catch (err) {
      throw new UsageError(
        `cannot read the record file ${text.slice(1)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(source);
  } catch (err) {
    throw new UsageError(`--record is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(
      `--record must be a JSON object (the committed row), got ${Array.isArray(value) ? 'an array' : JSON.stringify(value)}`,
    );
  }
  return value as Row;
}

function findJob(artifact: Artifact, name: string): JobDef {
  const job = artifact.jobs[name];
  if (job) return job;
  const refused = artifact.refused?.[name];
  if (refused !== undefined) throw new UsageError(`job ${name} is ${refused}`);
  const names = Object.keys(artifact.jobs).sort();
  throw new UsageError(`unknown job ${JSON.stringify(name)} (the artifact's jobs: ${names.join(', ') || 'none'})`);
}

const PREFERRED = ['name', 'email', 'title', 'subject', 'role', 'status', 'url'];

/** id and a few telling columns, or exactly --columns a,b,c. */
function pickColumns(rows: Row[], artifact: Artifact, entity: string, requested: string | undefined): string[] {
  const present = new Set(rows.flatMap((r) => Object.keys(r)));
  if (requested) {
    const columns = requested
      .split(',')
      .map((c) => c.trim())
      .filter(Boolean);
    const unknown = columns.filter((c) => !present.has(c));
    if (unknown.length > 0)
      throw new UsageError(`--columns: the targets have no column ${unknown.join(', ')} (they have ${[...present].join(', ')})`);
    return columns;
  }
  const declared = Object.keys(artifact.entities[entity]?.fields ?? {});
  const rest = [...PREFERRED, ...declared, ...present].filter((c, i, all) => c !== 'id' && present.has(c) && all.indexOf(c) === i);
  return [...(present.has('id') ? ['id'] : []), ...rest.slice(0, 3)];
}
