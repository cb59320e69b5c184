/**
 * Intervals for the load comparison: percentile bootstrap for quantiles and
 * means, Wilson for error rates. Quantiles come from simple-statistics.
 *
 * @module
 */
import { quantileSorted } from "simple-statistics";

/** A value with its 95% confidence interval. */
export interface Estimate {
  readonly value: number;
  readonly low: number;
  readonly high: number;
}

/** A seeded generator (the same seed, the same intervals). */
export function seeded(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    // xorshift32
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

/** The q-quantile of an unsorted sample, 0 for none. */
export const quantile = (xs: readonly number[], q: number): number => (xs.length === 0 ? 0 : quantileSorted([...xs].sort((a, b) => a - b), q));

/** The statistic over `xs`, with a 95% percentile-bootstrap interval (`resamples` resamples). */
export function bootstrap(xs: readonly number[], statistic: (sample: number[]) => number, random: () => number, resamples = 500): Estimate {
  if (xs.length === 0) return { value: 0, low: 0, high: 0 };
  const value = statistic([...xs]);
  const stats: number[] = [];
  const sample = new Array<number>(xs.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < xs.length; i++) sample[i] = xs[Math.floor(random() * xs.length)]!;
    stats.push(statistic(sample));
  }
  stats.sort((a, b) => a - b);
  return { value, low: quantileSorted(stats, 0.025), high: quantileSorted(stats, 0.975) };
}

/** The bootstrap interval of a difference of a statistic, B minus A. */
export function bootstrapDifference(a: readonly number[], b: readonly number[], statistic: (sample: number[]) => number, random: () => number, resamples = 500): Estimate {
  if (a.length === 0 || b.length === 0) return { value: 0, low: 0, high: 0 };
  const value = statistic([...b]) - statistic([...a]);
  const diffs: number[] = [];
  const draw = (xs: readonly number[]): number[] => Array.from({ length: xs.length }, () => xs[Math.floor(random() * xs.length)]!);
  for (let r = 0; r < resamples; r++) diffs.push(statistic(draw(b)) - statistic(draw(a)));
  diffs.sort((x, y) => x - y);
  return { value, low: quantileSorted(diffs, 0.025), high: quantileSorted(diffs, 0.975) };
}

/** The Wilson score interval (95%) of a rate `x / n`. */
export function wilson(x: number, n: number): Estimate {
  if (n === 0) return { value: 0, low: 0, high: 0 };
  const z = 1.96;
  const p = x / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  return { value: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}
