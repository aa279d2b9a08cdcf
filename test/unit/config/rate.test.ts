import { resolveRuntimeConfig } from '../../../src/config';
import { ConfigError } from '../../../src/config/errors';
import { parseRate } from '../../../src/config/rate';
import { jobPolicy, policyOfJob } from '../../../src/client/policy';
import { laneOfJob, rateLanes } from '../../../src/rate/lanes';

const noEnv = {};

describe('rate strings', () => {
  it.each([
    ['14/s', 14],
    ['600/min', 10],
    ['90 / m', 1.5],
    ['3600/h', 1],
    ['2.5/second', 2.5],
  ])('%s is %d per second', (text, perSecond) => {
    expect(parseRate(text)).toEqual({ text: text.trim(), perSecond });
  });

  it.each([
    ['fast', /expected a rate such as "14\/s" or "600\/min", got "fast"/],
    ['0/s', /must be more than 0/],
    ['10/fortnight', /expected a rate/],
    [14, /got the number 14/],
  ])('%p is refused', (value, message) => {
    const result = parseRate(value);
    expect('problem' in result && result.problem).toMatch(message);
  });
});

describe('rates in the config', () => {
  const problems = (raw: object) => {
    try {
      resolveRuntimeConfig(raw, { env: noEnv });
      return [];
    } catch (err) {
      return (err as ConfigError).problems.map((p) => `${p.path}: ${p.message}`);
    }
  };

  it('refuses a bad rate with its path, every one at once', () => {
    expect(
      problems({ email: { host: 'smtp.test', rate: 'fast' }, http: { rate: '0/s' }, jobs: { notify: { rate: '5/fortnight' } } }),
    ).toEqual([
      'email.rate: expected a rate such as "14/s" or "600/min", got "fast"',
      expect.stringMatching(/^jobs\.notify\.rate: expected a rate/),
      expect.stringMatching(/^http\.rate: must be more than 0/),
    ]);
  });

  it('gives each rate a lane on a queue of its own, the job rate before the provider rate', () => {
    const config = resolveRuntimeConfig(
      { email: { host: 'smtp.test', rate: '14/s' }, http: { rate: '600/min' }, jobs: { hook: { rate: '2/s', url: 'http://x.test' } } },
      { env: noEnv },
    );
    expect(config.jobs.templates.hook).toEqual({ url: 'http://x.test' });
    expect(rateLanes(config, 'q').map((l) => [l.name, l.taskQueue, l.rate.perSecond])).toEqual([
      ['email', 'q/email', 14],
      ['http', 'q/http', 10],
      ['job/hook', 'q/job/hook', 2],
    ]);
    expect(laneOfJob(config, 'q', { name: 'hook', capabilities: ['http.post'] })?.taskQueue).toBe('q/job/hook');
    expect(laneOfJob(config, 'q', { name: 'notify', capabilities: ['email.send'] })?.taskQueue).toBe('q/email');
    expect(laneOfJob(config, 'q', { name: 'ping', capabilities: ['http.get'] })?.taskQueue).toBe('q/http');
    expect(laneOfJob(resolveRuntimeConfig({}, { env: noEnv }), 'q', { name: 'notify', capabilities: ['email.send'] })).toBeUndefined();
  });
});

describe('what a lane asks of the server and of the job', () => {
  const config = resolveRuntimeConfig({ email: { host: 'smtp.test', rate: '20/s' }, http: { rate: '1000/s' } }, { env: noEnv });
  const [email, http] = rateLanes(config, 'q');

  it('up to 100/s a task is one send and the server limit is the rate; above, a task carries a batch, fewer tasks the faster the lane', () => {
    expect(email).toMatchObject({ perTask: 1, tasksPerSecond: 20 });
    expect(http).toMatchObject({ perTask: 100, tasksPerSecond: 10 });
    const lanes = (perSecond: string) => rateLanes(resolveRuntimeConfig({ http: { rate: perSecond } }, { env: noEnv }), 'q')[0];
    expect(lanes('100/s')).toMatchObject({ perTask: 1, tasksPerSecond: 100 });
    expect(lanes('200/s')).toMatchObject({ perTask: 4, tasksPerSecond: 50 });
    expect(lanes('500/s')).toMatchObject({ perTask: 25, tasksPerSecond: 20 });
    expect(lanes('5000/s')).toMatchObject({ perTask: 500, tasksPerSecond: 10 });
  });

  it('a rate-limited job runs on its lane, a task per target or per batch of the lane, two seconds of its rate in flight; others keep their policy', () => {
    const base = jobPolicy(config);
    expect(policyOfJob(base, config, 'q', { name: 'mail', capabilities: ['email.send'] })).toMatchObject({
      batchSize: 1,
      concurrency: 40,
      lane: { taskQueue: 'q/email' },
    });
    expect(policyOfJob(base, config, 'q', { name: 'hook', capabilities: ['http.post'] })).toMatchObject({
      batchSize: 100,
      batchThreshold: base.batchThreshold,
      concurrency: 1000,
      lane: { taskQueue: 'q/http' },
    });
    expect(policyOfJob(base, config, 'q', { name: 'log', capabilities: ['entity.create'] })).toBe(base);
  });
});
