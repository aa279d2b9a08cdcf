/** The policy a job workflow runs with: from [jobs], and for a rate-limited job, its lane. */
import { jobPolicy, policyOfJob } from '../../../src/client/policy';
import { resolveRuntimeConfig } from '../../../src/config';

const noEnv = {} as NodeJS.ProcessEnv;
const config = (raw: Record<string, unknown> = {}) => resolveRuntimeConfig(raw, { env: noEnv });

describe('jobPolicy', () => {
  it('takes attempts, timeout and concurrency from [jobs], with the built-in batch and part sizes', () => {
    const policy = jobPolicy(config({ jobs: { max_attempts: 4, timeout: '7s', concurrency: 12 } }));
    expect(policy).toMatchObject({
      maxAttempts: 4,
      timeoutMs: 7000,
      concurrency: 12,
      batchSize: 200,
      batchThreshold: 50,
      partSize: 5000,
      chunkSize: 500,
      childConcurrency: 4,
    });
    expect(policy.lane).toBeUndefined();
  });

  it('takes overrides over the config', () => {
    expect(jobPolicy(config({ jobs: { max_attempts: 4 } }), { maxAttempts: 1, partSize: 10 })).toMatchObject({
      maxAttempts: 1,
      partSize: 10,
    });
  });
});

describe('policyOfJob', () => {
  const mail = { name: 'welcome', capabilities: ['email.send'] };
  const ping = { name: 'ping', capabilities: ['http.post'] };

  it('leaves a job without a rate as it is', () => {
    const c = config({ email: { host: '127.0.0.1', from: 'a@b.test' } });
    const policy = jobPolicy(c);
    expect(policyOfJob(policy, c, 'q', mail)).toBe(policy);
  });

  it('puts a job under [email] rate on the email lane of its task queue, two seconds of the rate in flight', () => {
    const c = config({ email: { host: '127.0.0.1', from: 'a@b.test', rate: '100/s' }, jobs: { concurrency: 10 } });
    const policy = policyOfJob(jobPolicy(c), c, 'q', mail);
    expect(policy.lane?.taskQueue).toBe('q/email');
    expect(policy.concurrency).toBe(200);
    expect(policy.lane?.waitMs).toBeGreaterThanOrEqual(4000);
    // the HTTP job is not on the email lane
    expect(policyOfJob(jobPolicy(c), c, 'q', ping).lane).toBeUndefined();
  });

  it('keeps a larger configured concurrency, and bounds a fast rate at 1000 in flight', () => {
    const slow = config({ email: { host: '127.0.0.1', from: 'a@b.test', rate: '1/s' }, jobs: { concurrency: 30 } });
    expect(policyOfJob(jobPolicy(slow), slow, 'q', mail).concurrency).toBe(30);
    const fast = config({ email: { host: '127.0.0.1', from: 'a@b.test', rate: '5000/s' } });
    expect(policyOfJob(jobPolicy(fast), fast, 'q', mail).concurrency).toBe(1000);
  });

  it("prefers the job's own rate to its capability's", () => {
    const c = config({ email: { host: '127.0.0.1', from: 'a@b.test', rate: '100/s' }, jobs: { welcome: { rate: '2/s' } } });
    expect(policyOfJob(jobPolicy(c), c, 'q', mail).lane?.taskQueue).toBe('q/job/welcome');
  });
});
