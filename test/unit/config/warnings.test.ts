/** What loads but looks wrong is said at load: unknown keys in known config sections, filters that match nothing. */
import { readFileSync } from 'node:fs';
import { loadArtifact } from '../../../src/artifact';
import { matchesNothing, parseFilter } from '../../../src/artifact/filter';
import { resolveRuntimeConfig } from '../../../src/config';
import { TRACKER_PATH } from '../../support/artifacts';

const noEnv = {} as NodeJS.ProcessEnv;

describe('unknown keys in known sections', () => {
  it('a typo loads with a warning naming its path and the key it was likely meant to be', () => {
    const config = resolveRuntimeConfig(
      {
        email: { host: 'smtp.test', prot: 2525 },
        jobs: { concurency: 3, notify: { to: 'x@y.test', anything: 1 } },
        temporal: { adress: 'h:1', tls: { client_crt: 'a' } },
        http: { allowed: ['x'] },
        unknown_section: { whatever: 1 },
      },
      { env: noEnv },
    );
    expect(config.warnings).toEqual([
      'email.prot: unknown key in [email], ignored (did you mean "port"?)',
      'jobs.concurency: unknown key in [jobs], ignored (did you mean "concurrency"?)',
      'temporal.adress: unknown key in [temporal], ignored (did you mean "address"?)',
      'temporal.tls.client_crt: unknown key in [temporal.tls], ignored (did you mean "client_cert"?)',
      'http.allowed: unknown key in [http], ignored (did you mean "allow"?)',
    ]);
    expect(config.email?.port).toBe(587); // the typo's value is not taken: the default port stands
  });

  it('a key close to nothing known has no suggestion; an override under [environments] is checked too', () => {
    const config = resolveRuntimeConfig(
      { jobs: { colour: 'red' }, environments: { production: { email: { host: 'h', pasword: 'x' } } } },
      { env: noEnv, environment: 'production' },
    );
    expect(config.warnings).toEqual([
      'email.pasword: unknown key in [email], ignored (did you mean "password"?)',
      'jobs.colour: unknown key in [jobs], ignored',
    ]);
  });

  it('a file of known keys has no warnings at all', () => {
    expect(resolveRuntimeConfig({ email: { host: 'h', port: 25 }, jobs: { start_deadline: '300ms' } }, { env: noEnv })).not.toHaveProperty(
      'warnings',
    );
  });
});

describe('filters that can match nothing', () => {
  it.each([
    ['role in []', true],
    ['role in [] && age > 3', true],
    ['role in [] || name in ()', true],
    ['!(!(role in []))', true],
    ['!(role in [])', false],
    ['role in [] || age > 3', false],
    ['role in [agent]', false],
    // contradictions between comparisons are not solved
    ['x == 1 && x == 2', false],
  ])('%s → %s', (text, nothing) => {
    expect(matchesNothing(parseFilter(text))).toBe(nothing);
  });

  it('loads with a warning naming the job', () => {
    const raw = JSON.parse(readFileSync(TRACKER_PATH, 'utf8'));
    raw.jobs.ping_everyone.needs_filter = 'kind in []';
    const artifact = loadArtifact(raw);
    expect(artifact.warnings).toContain(
      'jobs.ping_everyone.needs_filter: job ping_everyone: the filter can match nothing (an empty "in" list), so the job never runs',
    );
    expect(artifact.jobs.ping_everyone.filter).toEqual({ kind: 'in', field: 'kind', values: [] });
  });
});

describe('the worker says so at load', () => {
  it('logs config.warning and artifact.warning once each, before it connects to anything', async () => {
    const { createJobWorker } = await import('../../../src/worker');
    const { createMemoryLogger } = await import('../../../src/log');
    const raw = JSON.parse(readFileSync(TRACKER_PATH, 'utf8'));
    raw.jobs.ping_everyone.needs_filter = 'kind in []';
    const logger = createMemoryLogger();
    createJobWorker({ artifact: raw, config: resolveRuntimeConfig({ email: { host: 'h', prot: 2525 } }, { env: noEnv }), logger });
    expect(logger.records.filter((r) => r.event === 'config.warning').map((r) => r.warning)).toEqual([
      'email.prot: unknown key in [email], ignored (did you mean "port"?)',
    ]);
    expect(logger.records.filter((r) => r.event === 'artifact.warning').map((r) => r.warning)).toContain(
      'jobs.ping_everyone.needs_filter: job ping_everyone: the filter can match nothing (an empty "in" list), so the job never runs',
    );
  });
});
