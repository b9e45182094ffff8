// Order statistics for bench samples: medians for run times, nearest-rank percentiles for latencies.

/** median returns the middle of the samples (the mean of the two middle ones for an even count). */
export function median(samples: readonly number[]): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** percentile returns the nearest-rank p-th percentile (p in 0..100) of the samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** round keeps `digits` decimals so the JSON stays readable (NaN and infinities become null). */
export function round(value: number, digits = 2): number | null {
  if (!Number.isFinite(value)) return null;
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** ratio divides figure by baseline, rounded to 3 decimals (null when either is unusable). */
export function ratio(figure: number, baseline: number): number | null {
  return baseline > 0 ? round(figure / baseline, 3) : null;
}

/** medianOf takes the median of one numeric field over records, ignoring records without it. */
export function medianOf<T>(records: readonly T[], pick: (record: T) => number | undefined): number | null {
  const values = records.map(pick).filter((value): value is number => typeof value === 'number' && Number.isFinite(value));
  return values.length > 0 ? round(median(values)) : null;
}

/** RepeatPolicy bounds how many times a measurement repeats: at least min, at most max, within a budget. */
export interface RepeatPolicy {
  readonly min: number;
  readonly max: number;
  /** Beyond min, start a run only if it is expected to end within this many milliseconds of the first. */
  readonly budgetMs: number;
}

/** repeat runs `once` as often as the policy allows and returns each run's result in order. */
export async function repeat<T>(policy: RepeatPolicy, once: (index: number) => Promise<T>): Promise<T[]> {
  const started = performance.now();
  const results: T[] = [];
  // Beyond the minimum, start another run only if one more of average length still fits.
  const fits = (): boolean => {
    const elapsed = performance.now() - started;
    return elapsed + elapsed / results.length <= policy.budgetMs;
  };
  while (results.length < policy.min || (results.length < policy.max && fits())) {
    results.push(await once(results.length));
  }
  return results;
}
