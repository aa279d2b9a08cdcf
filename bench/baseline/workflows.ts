/**
 * Bare Temporal, without forge-jobs: the same work as notify_agents (a DB query for the targets, then one
 * SMTP send per target) and as a fan-out (one HTTP POST activity per target), for side-by-side ratios.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { BaselineActivities } from './activities';

const { lookupAgents, sendMail, postTarget, postTargets } = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 5, initialInterval: '1s' },
});

export async function baselineJob(input: { ticketId: number; orgId: number; subject: string }): Promise<number> {
  const agents = await lookupAgents(input.orgId);
  for (const agent of agents)
    await sendMail({ to: agent.email, subject: `New ticket: ${input.subject}`, text: `Ticket ${input.ticketId}` });
  return agents.length;
}

/** `batch` targets per activity (1: one activity per target), `concurrency` activities in flight. */
export async function baselineFanout(input: { targets: number; concurrency: number; url: string; batch?: number }): Promise<number> {
  const batch = input.batch ?? 1;
  let next = 1;
  let done = 0;
  const lane = async () => {
    while (next <= input.targets) {
      const ids: number[] = [];
      while (ids.length < batch && next <= input.targets) ids.push(next++);
      if (batch === 1) await postTarget({ url: `${input.url}/ping/${ids[0]}`, key: `baseline-${input.batch}-${ids[0]}` });
      else await postTargets(ids.map((id) => ({ url: `${input.url}/ping/${id}`, key: `baseline-${input.batch}-${id}` })));
      done += ids.length;
    }
  };
  await Promise.all(Array.from({ length: input.concurrency }, lane));
  return done;
}
