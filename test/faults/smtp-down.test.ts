/**
 * SMTP down: email effects fail transiently and are retried (backoff attempt² s) up to [jobs] max_attempts
 * (3 here), then the job is dead with the SMTP error as its reason; the HTTP job of the same event is not
 * affected. When the server comes back within the retries, the mail is delivered once.
 */
import {
  duplicatesOf,
  insertOrders,
  JOBS_PER_ORDER,
  missingDeliveries,
  record,
  sleep,
  startStack,
  waitForWorkflows,
  type Stack,
} from './harness';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ name: 'smtp-down', maxAttempts: 3 });
  await stack.startWorker().ready;
});

afterAll(async () => {
  await stack?.stop();
});

const failuresOf = (workflowId: string) => stack.workerEvents.filter((e) => e.event === 'job.failed' && e.job_id === workflowId);

test('SMTP down for good: retried up to max_attempts, then dead with its reason', async () => {
  await stack.smtp.close();
  const rows = await insertOrders(stack.pool, 5, 'smtp down');
  const started = (await Promise.all(rows.map((row) => stack.client.afterCommit('Order', 'create', row)))).flat();
  const outcome = await waitForWorkflows(
    await stack.temporalClient(),
    started.map((s) => s.workflowId),
    60_000,
  );
  const mail = started.filter((s) => s.job === 'order_mail');
  const hooks = started.filter((s) => s.job === 'order_hook');
  for (const s of mail) {
    expect(outcome.statuses.get(s.workflowId)?.status).toBe('FAILED');
    expect(outcome.statuses.get(s.workflowId)?.reason).toMatch(/SMTP .*ECONNREFUSED|SMTP ECONNECTION/);
    // three attempts, each logged as job.failed (the last one exhausts the retries)
    expect(failuresOf(s.workflowId)).toHaveLength(3);
  }
  for (const s of hooks) expect(outcome.statuses.get(s.workflowId)?.status).toBe('COMPLETED');
  const hookMissing = missingDeliveries(
    stack,
    rows.map((r) => r.id),
  ).filter((m) => m.startsWith('hook'));
  record({
    scenario: 'smtp down',
    round: '1/2',
    fault: 'SMTP refused for the whole run (max_attempts 3)',
    jobs: rows.length * JOBS_PER_ORDER,
    completed: outcome.completed,
    dead: outcome.dead,
    lost: outcome.open.length + hookMissing.length + (outcome.dead - mail.length),
    duplicates: duplicatesOf(
      stack,
      rows.map((r) => r.id),
    ),
    note: `${mail.length} mail jobs dead after ${failuresOf(mail[0].workflowId).length} attempts as expected: ${outcome.statuses.get(mail[0].workflowId)?.reason}`,
  });
});

test('SMTP down for 2 s: the mail goes out on a retry, once', async () => {
  const rows = await insertOrders(stack.pool, 5, 'smtp back');
  const started = (await Promise.all(rows.map((row) => stack.client.afterCommit('Order', 'create', row)))).flat();
  await sleep(2000);
  await stack.restartSmtp();
  const outcome = await waitForWorkflows(
    await stack.temporalClient(),
    started.map((s) => s.workflowId),
    60_000,
  );
  const missing = missingDeliveries(
    stack,
    rows.map((r) => r.id),
  );
  const retried = started.filter((s) => s.job === 'order_mail').reduce((a, s) => a + failuresOf(s.workflowId).length, 0);
  const lost = rows.length * JOBS_PER_ORDER - started.length + outcome.open.length + outcome.dead + missing.length;
  const duplicates = duplicatesOf(
    stack,
    rows.map((r) => r.id),
  );
  record({
    scenario: 'smtp down',
    round: '2/2',
    fault: 'SMTP refused for 2 s, then back',
    jobs: rows.length * JOBS_PER_ORDER,
    completed: outcome.completed,
    dead: outcome.dead,
    lost,
    duplicates,
    note: `${retried} failed mail attempts retried`,
  });
  expect(retried).toBeGreaterThan(0);
  expect(lost).toBe(0);
  expect(duplicates).toBe(0);
});
