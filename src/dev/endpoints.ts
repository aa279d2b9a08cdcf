/**
 * The development-only inspection endpoints, mounted by `forge-jobs dev` on the app server (never in
 * production: only src/dev/stack.ts passes them):
 *   GET /_dev/jobs/stats                                  → inspector.stats()
 *   GET /_dev/jobs/dead?job=&entity=&since=&limit=        → inspector.deadJobs(…)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JobInspector } from '../client/inspect';

/** Answers a request it owns (true), or leaves it to the next handler (false). */
export type DevRoute = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

export function devJobsEndpoints(inspector: Pick<JobInspector, 'stats' | 'deadJobs'>): DevRoute {
  return async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (!url.pathname.startsWith('/_dev/jobs/')) return false;
    if (req.method !== 'GET') return reply(res, 405, { error: 'GET only' });
    try {
      if (url.pathname === '/_dev/jobs/stats') return reply(res, 200, await inspector.stats());
      if (url.pathname === '/_dev/jobs/dead') {
        const p = url.searchParams;
        const limit = p.get('limit');
        if (limit !== null && !/^[1-9]\d*$/.test(limit))
          return reply(res, 400, { error: `limit must be a positive integer, got ${JSON.stringify(limit)}` });
        const dead = await inspector.deadJobs({
          job: p.get('job') ?? undefined,
          entity: p.get('entity') ?? undefined,
          since: p.get('since') ?? undefined,
          limit: limit === null ? undefined : Number(limit),
        });
        return reply(res, 200, { dead });
      }
      return reply(res, 404, { error: 'GET /_dev/jobs/stats or /_dev/jobs/dead' });
    } catch (err) {
      const message = (err as Error).message;
      return reply(res, /^since:|^limit/.test(message) ? 400 : 502, { error: message });
    }
  };
}

function reply(res: ServerResponse, status: number, body: unknown): true {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body) + '\n');
  return true;
}
