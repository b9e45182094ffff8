import { describe, expect, it } from 'vitest';
import { growthOf } from '../bench/lib/growth.js';

describe('growthOf', () => {
  it('divides the median at the large size by the median at the small one', () => {
    // GIVEN noisy samples WHEN compared THEN the medians (100 and 1,150) set the growth
    expect(growthOf([90, 100, 400], [1100, 1150, 1200], 12)).toEqual({ small: 100, large: 1150, growth: 11.5, pass: true });
  });

  it('fails a growth above the bound (a quadratic shape grows ~100x)', () => {
    expect(growthOf([100], [10_000], 12)).toMatchObject({ growth: 100, pass: false });
  });

  it('passes a growth exactly at the bound', () => {
    expect(growthOf([100], [1200], 12).pass).toBe(true);
  });

  it('has no growth, and fails, without a usable small figure', () => {
    expect(growthOf([0], [100], 12)).toMatchObject({ growth: null, pass: false });
    expect(growthOf([], [100], 12)).toMatchObject({ growth: null, pass: false });
  });
});
