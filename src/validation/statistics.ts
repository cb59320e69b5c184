/**
 * Intervals for the load comparison: percentile bootstrap for quantiles,
 * Student's t for means of a few blocks, Wilson for error rates, all at 99%:
 * a validation says "worse" once, and three measures at 95% would call two
 * identical arms worse one run in fifteen. Quantiles and the normal quantile
 * come from simple-statistics.
 *
 * @module
 */
import { mean, probit, quantileSorted, sampleVariance } from "simple-statistics";
import { tQuantile } from "../monitor/statistics.ts";

/** The confidence of every interval here. */
const LEVEL = 0.99;
const LOW = (1 - LEVEL) / 2;
const HIGH = 1 - LOW;

/** A value with its 99% confidence interval. */
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

/** The statistic over `xs`, with a 99% percentile-bootstrap interval (`resamples` resamples). */
export function bootstrap(xs: readonly number[], statistic: (sample: number[]) => number, random: () => number, resamples = 1000): Estimate {
  if (xs.length === 0) return { value: 0, low: 0, high: 0 };
  const value = statistic([...xs]);
  const stats: number[] = [];
  const sample = new Array<number>(xs.length);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < xs.length; i++) sample[i] = xs[Math.floor(random() * xs.length)]!;
    stats.push(statistic(sample));
  }
  stats.sort((a, b) => a - b);
  return { value, low: quantileSorted(stats, LOW), high: quantileSorted(stats, HIGH) };
}

/**
 * The statistic over all the values of `groups`, with a 99% interval from
 * resampling whole groups (the blocks of a load run): what differs between
 * blocks — a busy moment of the machine — widens the interval, as it must,
 * where resampling single values would ignore it. A single group gives its
 * value alone.
 */
export function clusterBootstrap(groups: readonly (readonly number[])[], statistic: (sample: number[]) => number, random: () => number, resamples = 1000): Estimate {
  return bootstrap(groups.map((_, i) => i), (picked) => statistic(picked.flatMap((i) => groups[i]!)), random, resamples);
}

/** The cluster-bootstrap interval of a difference of a statistic, B minus A (see clusterBootstrap). */
export function clusterBootstrapDifference(a: readonly (readonly number[])[], b: readonly (readonly number[])[], statistic: (sample: number[]) => number, random: () => number, resamples = 1000): Estimate {
  // Blocks are drawn by index: A's as 0, 1, …, B's as -1, -2, …, so that one statistic reads either arm's.
  return bootstrapDifference(a.map((_, i) => i), b.map((_, i) => -1 - i), (picked) => statistic(picked.flatMap((i) => (i >= 0 ? a[i]! : b[-1 - i]!))), random, resamples);
}

/** The bootstrap interval of a difference of a statistic, B minus A. */
export function bootstrapDifference(a: readonly number[], b: readonly number[], statistic: (sample: number[]) => number, random: () => number, resamples = 1000): Estimate {
  if (a.length === 0 || b.length === 0) return { value: 0, low: 0, high: 0 };
  const value = statistic([...b]) - statistic([...a]);
  const diffs: number[] = [];
  const draw = (xs: readonly number[]): number[] => Array.from({ length: xs.length }, () => xs[Math.floor(random() * xs.length)]!);
  for (let r = 0; r < resamples; r++) diffs.push(statistic(draw(b)) - statistic(draw(a)));
  diffs.sort((x, y) => x - y);
  return { value, low: quantileSorted(diffs, LOW), high: quantileSorted(diffs, HIGH) };
}

/**
 * The mean with its 99% t interval: for a handful of values (blocks of a
 * load run), where a bootstrap would draw an interval far too narrow. Null
 * for fewer than 2 values.
 */
export function tInterval(xs: readonly number[]): Estimate | null {
  if (xs.length < 2) return null;
  const m = mean([...xs]);
  const half = tQuantile(HIGH, xs.length - 1) * Math.sqrt(sampleVariance([...xs]) / xs.length);
  return { value: m, low: m - half, high: m + half };
}

/** The difference of means, B minus A, with its 99% Welch interval; null unless each has 2 values or more. */
export function welchDifference(a: readonly number[], b: readonly number[]): Estimate | null {
  if (a.length < 2 || b.length < 2) return null;
  const va = sampleVariance([...a]) / a.length;
  const vb = sampleVariance([...b]) / b.length;
  const value = mean([...b]) - mean([...a]);
  const se = Math.sqrt(va + vb);
  if (se === 0) return { value, low: value, high: value };
  // Welch–Satterthwaite degrees of freedom.
  const dof = (va + vb) ** 2 / (va ** 2 / (a.length - 1) + vb ** 2 / (b.length - 1));
  const half = tQuantile(HIGH, dof) * se;
  return { value, low: value - half, high: value + half };
}

/** The Wilson score interval (99%) of a rate `x / n`. */
export function wilson(x: number, n: number): Estimate {
  if (n === 0) return { value: 0, low: 0, high: 0 };
  const z = probit(HIGH);
  const p = x / n;
  const centre = (p + (z * z) / (2 * n)) / (1 + (z * z) / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / (1 + (z * z) / n);
  return { value: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}
