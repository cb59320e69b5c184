/**
 * The tests the monitor runs, over counts it can get from any two arms in
 * the same window. The error function (for normal probabilities) and the
 * regression come from simple-statistics, Student's t quantiles from jStat.
 *
 * @module
 */
import jStatModule from "jstat";
import { errorFunction, gammaln, linearRegression } from "simple-statistics";

// jStat ships no type declarations; these are the functions molt uses.
const jStat = jStatModule as unknown as { studentt: { inv(p: number, dof: number): number }; chisquare: { inv(p: number, dof: number): number } };

/** The `p` quantile of Student's t distribution with `dof` degrees of freedom. */
export const tQuantile = (p: number, dof: number): number => jStat.studentt.inv(p, dof);

/**
 * The exact (Garwood) 95% interval of a Poisson mean, from an observed
 * count `k`: [χ²(0.025; 2k)/2, χ²(0.975; 2k+2)/2]; for k = 0 it is
 * [0, 3.689].
 */
export function poissonInterval(k: number): readonly [number, number] {
  return [k === 0 ? 0 : jStat.chisquare.inv(0.025, 2 * k) / 2, jStat.chisquare.inv(0.975, 2 * k + 2) / 2];
}

/** A one-sided test's result: its statistic and p-value. */
export interface TestResult {
  readonly z: number;
  /** Probability of a difference at least this large in the tested direction if there were none. */
  readonly pValue: number;
}

// simple-statistics' table-based normal CDF stops at z = 3.09 (p = 0.001); the error function does not.
const upperTail = (z: number): number => (Number.isFinite(z) ? 0.5 * (1 - errorFunction(z / Math.SQRT2)) : z > 0 ? 0 : 1);

/** log of n choose k. */
const logChoose = (n: number, k: number): number => gammaln(n + 1) - gammaln(k + 1) - gammaln(n - k + 1);

/**
 * Is the rate `x2/n2` (V2) higher than `x1/n1` (V1)? One-sided Fisher exact
 * test: the normal approximation understates how often a handful of rare
 * errors bunches up on one arm, and a rollout must not roll back on that.
 * `z` is the two-proportion z statistic, kept for the record; `pValue` is
 * exact.
 */
export function twoProportionTest(x1: number, n1: number, x2: number, n2: number): TestResult {
  const pooled = (x1 + x2) / (n1 + n2);
  const se = Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  const z = se === 0 ? 0 : (x2 / n2 - x1 / n1) / se;
  // Given all x1 + x2 errors, how likely are x2 or more of them to fall on V2's n2 calls?
  const total = n1 + n2;
  const errors = x1 + x2;
  const denominator = logChoose(total, n2);
  let pValue = 0;
  for (let k = x2; k <= Math.min(errors, n2); k++) {
    pValue += Math.exp(logChoose(errors, k) + logChoose(total - errors, n2 - k) - denominator);
  }
  return { z, pValue: Math.min(1, pValue) };
}

/** One-sample proportion z-test, one-sided: is `x/n` higher than `p0`? */
export function proportionAboveTest(x: number, n: number, p0: number): TestResult {
  const se = Math.sqrt((p0 * (1 - p0)) / n);
  if (se === 0) return { z: 0, pValue: x / n > p0 ? 0 : 1 };
  const z = (x / n - p0) / se;
  return { z, pValue: upperTail(z) };
}

/** One-sample proportion z-test, one-sided: is `x/n` lower than `p0`? */
export function proportionBelowTest(x: number, n: number, p0: number): TestResult {
  const above = proportionAboveTest(n - x, n, 1 - p0);
  return { z: -above.z, pValue: above.pValue };
}

/**
 * Quantile exceedance test: if V2's latencies came from V1's distribution,
 * a fraction `1 - q` of them would exceed V1's q-quantile. Counts V2's
 * sample above `v1Quantile` and tests for more than that.
 */
export function exceedanceTest(v2Sample: readonly number[], v1Quantile: number, q: number): TestResult & { readonly above: number; readonly n: number } {
  const above = v2Sample.filter((ms) => ms > v1Quantile).length;
  return { ...proportionAboveTest(above, v2Sample.length, 1 - q), above, n: v2Sample.length };
}

/** Memory growth per hour as a fraction of the mean, with its confidence bounds. */
export interface GrowthInterval {
  /** The least-squares slope, per hour, over the mean. */
  readonly perHour: number;
  /** One-sided lower and upper bounds at the confidence asked for. */
  readonly low: number;
  readonly high: number;
  readonly samples: number;
  readonly spanMs: number;
}

/**
 * Memory growth per hour, as a fraction of the mean, from a least-squares
 * line through (time, bytes) samples, with the slope's t interval: each
 * bound holds with probability `1 - alpha`. Null with fewer than 3 samples,
 * no time between them, or no memory.
 */
export function growthInterval(samples: readonly { readonly at: number; readonly bytes: number }[], alpha: number): GrowthInterval | null {
  const n = samples.length;
  if (n < 3) return null;
  const t0 = samples[0]!.at;
  const spanMs = samples.at(-1)!.at - t0;
  const mean = samples.reduce((s, x) => s + x.bytes, 0) / n;
  if (spanMs <= 0 || mean <= 0) return null;
  const points = samples.map((s) => [(s.at - t0) / 3_600_000, s.bytes / mean]);
  const { m, b } = linearRegression(points);
  const meanT = points.reduce((s, p) => s + p[0]!, 0) / n;
  const sxx = points.reduce((s, p) => s + (p[0]! - meanT) ** 2, 0);
  if (sxx === 0) return null;
  const residuals = points.reduce((s, p) => s + (p[1]! - (m * p[0]! + b)) ** 2, 0);
  const se = Math.sqrt(residuals / (n - 2) / sxx);
  const half = tQuantile(1 - alpha, n - 2) * se;
  return { perHour: m, low: m - half, high: m + half, samples: n, spanMs };
}
