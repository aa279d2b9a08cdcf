import { createHash } from 'node:crypto';

/**
 * The idempotency key of one effect: the same for every attempt and every redrive of the same workflow,
 * target and request, so a retried send is recognisable (Message-ID, Idempotency-Key, the insert ledger).
 */
export function effectKey(workflowId: string, targetId: unknown, index: number): string {
  const digest = createHash('sha256')
    .update(`${workflowId}\0${String(targetId)}\0${index}`)
    .digest('hex')
    .slice(0, 32);
  return `fj-${digest}`;
}
