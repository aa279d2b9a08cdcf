/**
 * A small app server with Forge-style action endpoints, for the example and the demo:
 * POST /api/actions/create_<entity>, update_<entity>, delete_<entity> (and add_comment for the helpdesk).
 * Each action commits its write and an outbox row in one transaction (client.enqueue); the worker's relay
 * starts the jobs after COMMIT. The response never waits for a job.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Pool } from 'pg';
import { storedOnSource } from '../artifact/storage';
import type { Artifact, EntityDef } from '../artifact/types';
import type { JobClient } from '../client';
import { inTransaction } from '../postgres/transaction';
import { deleteRowQuery, insertRowQuery, updateRowQuery } from './example-app-rows';
import type { DevRoute } from './endpoints';

const MAX_BODY = 64 * 1024;
const ALIASES: Record<string, string> = { add_comment: 'create_comment' };
const IMPLICIT = new Set(['id', 'created_at', 'updated_at']);

export interface AppServer {
  url: string;
  server: Server;
  close(): Promise<void>;
}

export async function startAppServer(options: {
  pool: Pool;
  client: JobClient;
  artifact: Artifact;
  port?: number;
  host?: string;
  /** development-only routes tried first (`forge-jobs dev` mounts /_dev/jobs/*) */
  devRoutes?: DevRoute;
}): Promise<AppServer> {
  const actions = actionTable(options.artifact);
  const server = createServer((req, res) => {
    handle(req, res).catch((err) => send(res, statusOf(err), { error: (err as Error).message }));
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (options.devRoutes && (await options.devRoutes(req, res))) return;
    const m = /^\/api\/actions\/([a-z0-9_]+)$/.exec(req.url ?? '');
    if (req.method === 'GET' && req.url === '/api/actions') return send(res, 200, { actions: Object.keys(actions) });
    if (req.method !== 'POST' || !m) return send(res, 404, { error: 'POST /api/actions/<action>' });
    const action = actions[ALIASES[m[1]] ?? m[1]];
    if (!action) return send(res, 404, { error: `unknown action ${m[1]}` });
    const body = await readJson(req);
    const { id, ...input } = body;
    const fields = Object.fromEntries(Object.entries(input).map(([k, v]) => [columnOf(action.entity, k), v]));
    const unknown = Object.keys(fields).filter((c) => !isColumn(action.entity, c));
    if (unknown.length) return send(res, 400, { error: `${action.entity.name} has no field ${unknown.join(', ')}` });
    if (action.operation !== 'create' && id === undefined) return send(res, 400, { error: 'id is required' });

    const query =
      action.operation === 'create'
        ? insertRowQuery(action.entity.table, fields)
        : action.operation === 'update'
          ? updateRowQuery(action.entity.table, id, fields)
          : deleteRowQuery(action.entity.table, id);
    // The write and its outbox row commit together; the relay starts the jobs after COMMIT, so a crash
    // between the commit and the start loses nothing.
    const { row, enqueued } = await inTransaction(options.pool, async (tx) => {
      const written: Record<string, unknown> | undefined = (await tx.query(query.text, query.values)).rows[0];
      return { row: written, enqueued: written && (await options.client.enqueue(tx, action.entity.name, action.operation, written)) };
    });
    if (!row) return send(res, 404, { error: `${action.entity.name} ${String(id)} not found` });
    send(res, action.operation === 'create' ? 201 : 200, { data: row, jobs: enqueued?.jobs ?? [] });
  }

  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    server,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

type Action = { entity: EntityDef; operation: 'create' | 'update' | 'delete' };

function actionTable(artifact: Artifact): Record<string, Action> {
  const table: Record<string, Action> = {};
  for (const entity of Object.values(artifact.entities)) {
    const snake = entity.name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
    for (const operation of ['create', 'update', 'delete'] as const) table[`${operation}_${snake}`] = { entity, operation };
  }
  return table;
}

/** Bodies may name a relation stored on the entity's table (`org`) for its foreign key column (`org_id`). */
function columnOf(entity: EntityDef, key: string): string {
  const rel = entity.relations[key];
  return rel && storedOnSource(rel) && rel.foreign_key ? rel.foreign_key : key;
}

function isColumn(entity: EntityDef, column: string): boolean {
  if (IMPLICIT.has(column) || entity.fields[column]) return true;
  return Object.values(entity.relations).some((r) => storedOnSource(r) && r.foreign_key === column);
}

async function readJson(req: IncomingMessage): Promise<Record<string, unknown>> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req) {
    size += chunk.length;
    if (size > MAX_BODY) throw new BodyError(`request body over ${MAX_BODY} bytes`, 413);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : {};
  } catch (err) {
    throw new BodyError(`body is not JSON: ${(err as Error).message}`, 400);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new BodyError('body must be a JSON object', 400);
  return parsed as Record<string, unknown>;
}

class BodyError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/** The client's mistakes are 4xx: a body that is not JSON, a value Postgres refuses (SQLSTATE class 22, 23). */
function statusOf(err: unknown): number {
  if (err instanceof BodyError) return err.status;
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' && /^2[23]/.test(code) ? 400 : 500;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body) + '\n');
}
