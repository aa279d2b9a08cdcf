/** The bounds in [jobs]: record size, targets per job and how long finished jobs are kept. */
import { resolveRuntimeConfig } from '../../../src/config';
import { DEFAULT_MAX_RECORD_BYTES, maxRecordBytes } from '../../../src/outbox/event';
import { configError } from '../../support/configs';

const noEnv = {} as NodeJS.ProcessEnv;

describe('[jobs] max_record_bytes and max_targets', () => {
  it('are optional: absent means the built-in defaults', () => {
    const config = resolveRuntimeConfig({}, { env: noEnv });
    expect(config.jobs.maxRecordBytes).toBeUndefined();
    expect(config.jobs.maxTargets).toBeUndefined();
    expect(maxRecordBytes(config)).toBe(DEFAULT_MAX_RECORD_BYTES);
    expect(DEFAULT_MAX_RECORD_BYTES).toBe(256 * 1024);
  });

  it('are read when given', () => {
    const config = resolveRuntimeConfig({ jobs: { max_record_bytes: 4096, max_targets: 50 } }, { env: noEnv });
    expect(config.jobs).toMatchObject({ maxRecordBytes: 4096, maxTargets: 50 });
    expect(maxRecordBytes(config)).toBe(4096);
  });

  it('are refused with their path when not positive integers', () => {
    const err = configError(() => resolveRuntimeConfig({ jobs: { max_record_bytes: 0, max_targets: 'many' } }, { env: noEnv }));
    expect(err.problems.map((p) => p.path).sort()).toEqual(['jobs.max_record_bytes', 'jobs.max_targets']);
  });
});

describe('[jobs] completed_retention', () => {
  it('defaults to 7 days, reads a duration, and refuses nonsense with its path', () => {
    expect(resolveRuntimeConfig({}, { env: noEnv }).jobs.completedRetentionMs).toBe(7 * 24 * 3600_000);
    expect(resolveRuntimeConfig({ jobs: { completed_retention: '36h' } }, { env: noEnv }).jobs.completedRetentionMs).toBe(36 * 3600_000);
    const err = configError(() => resolveRuntimeConfig({ jobs: { completed_retention: 'a while' } }, { env: noEnv }));
    expect(err.problems.map((p) => p.path)).toEqual(['jobs.completed_retention']);
  });
});
