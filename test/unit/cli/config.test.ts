import { positiveInt, UsageError } from '../../../src/cli/config';

describe('positiveInt', () => {
  it('reads a whole number of at least 1', () => {
    expect(positiveInt('1', '--limit')).toBe(1);
    expect(positiveInt(' 250 ', '--limit')).toBe(250);
  });

  it.each(['0', '-3', '1.5', '1e3', '0x10', 'ten', ''])('refuses %j naming the flag, in the command’s wording', (text) => {
    expect(() => positiveInt(text, '--limit')).toThrow(UsageError);
    expect(() => positiveInt(text, '--limit')).toThrow(`--limit must be a positive integer, got ${JSON.stringify(text)}`);
    expect(() => positiveInt(text, '--parallel', 'a whole number of at least 1')).toThrow(
      /^--parallel must be a whole number of at least 1/,
    );
  });
});
