/** The dead-target samples a part keeps: the first DEAD_SAMPLES, in order, never more. */
import { keepSamples } from '../../../src/workflows/batches';
import { DEAD_SAMPLES, type DeadTarget } from '../../../src/workflows/types';

const dead = (n: number): DeadTarget[] => Array.from({ length: n }, (_, i) => ({ target: i, reason: `r${i}` }));

describe('keepSamples', () => {
  it('adds until DEAD_SAMPLES are kept, in order, and then keeps what it has', () => {
    const samples: DeadTarget[] = [];
    keepSamples(samples, dead(3));
    expect(samples.map((d) => d.target)).toEqual([0, 1, 2]);
    keepSamples(
      samples,
      dead(DEAD_SAMPLES).map((d) => ({ ...d, target: Number(d.target) + 100 })),
    );
    expect(samples).toHaveLength(DEAD_SAMPLES);
    expect(samples.slice(0, 4).map((d) => d.target)).toEqual([0, 1, 2, 100]);
    keepSamples(samples, dead(5));
    expect(samples).toHaveLength(DEAD_SAMPLES);
    expect(samples.at(-1)?.target).toBe(100 + DEAD_SAMPLES - 4);
  });
});
