// How a cost grows with the size of a graph: the median cost (time, log bytes) at the large size
// over the median at the small one, judged against a bound (10x the resources may cost at most
// ~12x as much).

import { median, ratio } from './stats.js';

/** Growth is the verdict of one shape: medians at each size, their ratio and whether it is within the bound. */
export interface Growth {
  /** The median at the small size. */
  readonly small: number;
  /** The median at the large size. */
  readonly large: number;
  /** large / small (null when the small median is not positive). */
  readonly growth: number | null;
  readonly pass: boolean;
}

/** growthOf compares the samples at the small and the large size; `maxGrowth` is the largest acceptable ratio. */
export function growthOf(small: readonly number[], large: readonly number[], maxGrowth: number): Growth {
  const growth = ratio(median(large), median(small));
  return { small: median(small), large: median(large), growth, pass: growth !== null && growth <= maxGrowth };
}
