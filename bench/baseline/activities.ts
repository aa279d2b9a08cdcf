/** The baseline's activities: a plain pg query, a pooled nodemailer send, an undici POST. No forge-jobs code. */
import nodemailer from 'nodemailer';
import type { Pool } from 'pg';
import { Agent, request } from 'undici';

export function createBaselineActivities(deps: { pool: Pool; smtpPort: number }) {
  const transport = nodemailer.createTransport({ pool: true, host: '127.0.0.1', port: deps.smtpPort, secure: false });
  const agent = new Agent({ headersTimeout: 10_000, bodyTimeout: 10_000 });
  const postTarget = async (req: { url: string; key: string }): Promise<void> => {
    const res = await request(req.url, {
      method: 'POST',
      dispatcher: agent,
      headers: { 'content-type': 'application/json', 'idempotency-key': req.key },
      body: '{}',
    });
    await res.body.dump();
    if (res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}`);
  };
  return {
    async lookupAgents(orgId: number): Promise<Array<{ id: number; email: string }>> {
      const { rows } = await deps.pool.query('SELECT id, email FROM members WHERE org_id = ANY($1) AND role = $2', [[orgId], 'agent']);
      return rows;
    },
    async sendMail(mail: { to: string; subject: string; text: string }): Promise<void> {
      await transport.sendMail({ from: 'bench@forge-jobs.test', ...mail });
    },
    postTarget,
    /** several targets in one activity, in parallel (the batching a fan-out could do) */
    async postTargets(reqs: Array<{ url: string; key: string }>): Promise<void> {
      await Promise.all(reqs.map(postTarget));
    },
    close() {
      transport.close();
      return agent.close();
    },
  };
}

export type BaselineActivities = Omit<ReturnType<typeof createBaselineActivities>, 'close'>;
