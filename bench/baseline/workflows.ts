/**
 * Bare Temporal, without forge-jobs: the same work as notify_agents (a DB query for the targets, then one
 * SMTP send per target) and as a fan-out (one HTTP POST activity per target), for side-by-side ratios.
 */
import { proxyActivities } from '@temporalio/workflow';
import type { BaselineActivities } from './activities';

const { lookupAgents, sendMail, postTarget } = proxyActivities<BaselineActivities>({
  startToCloseTimeout: '30s',
  retry: { maximumAttempts: 5, initialInterval: '1s' },
});

export async function baselineJob(input: { ticketId: number; orgId: number; subject: string }): Promise<number> {
  const agents = await lookupAgents(input.orgId);
  for (const agent of agents) await sendMail({ to: agent.email, subject: `New ticket: ${input.subject}`, text: `Ticket ${input.ticketId}` });
  return agents.length;
}

export async function baselineFanout(input: { targets: number; concurrency: number; url: string }): Promise<number> {
  let next = 1;
  let done = 0;
  const lane = async () => {
    while (next <= input.targets) {
      const id = next++;
      await postTarget({ url: `${input.url}/ping/${id}`, key: `baseline-${id}` });
      done++;
    }
  };
  await Promise.all(Array.from({ length: input.concurrency }, lane));
  return done;
}
