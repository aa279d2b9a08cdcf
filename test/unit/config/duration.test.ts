import { ConfigError, parseDuration } from '../../../src/config';

describe('parseDuration', () => {
  it.each([
    [30, 30_000],
    [0.5, 500],
    ['30', 30_000],
    ['500ms', 500],
    ['30s', 30_000],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1.5s', 1500],
  ])('%p → %p ms', (input, ms) => {
    expect(parseDuration(input, 'jobs.timeout')).toBe(ms);
  });

  it.each(['soon', '30 seconds', '-5s', '', '5d', 's'])('refuses %p, naming the path', (input) => {
    const err = (() => {
      try {
        parseDuration(input, 'jobs.timeout');
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).problems).toEqual([{ path: 'jobs.timeout', message: expect.stringContaining('invalid duration') }]);
  });

  it('refuses a negative number of seconds', () => {
    expect(() => parseDuration(-1, 'http.timeout')).toThrow('http.timeout: must be a non-negative number of seconds, got -1');
  });
});
