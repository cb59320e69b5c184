/**
 * The monitor's thresholds: the plan's numbers, each configurable.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";

/** What the monitor judges against. */
export interface Thresholds {
  /** V2 error rate above this fails. Default 0.05. */
  readonly maxErrorRate: number;
  /** V2 error rate above this is critical: roll back at once. Default 0.10. */
  readonly criticalErrorRate: number;
  /** Calls V2 needs before a critical error rate counts. Default 20. */
  readonly criticalMinCalls: number;
  /** V2 p99 above this (ms) fails. Default 200. */
  readonly maxP99Ms: number;
  /** CPU above this (%) fails. Default 80. */
  readonly maxCpuPercent: number;
  /** Memory above this (%) fails. Default 90. */
  readonly maxMemoryPercent: number;
  /** V2 error rate above this many times V1's (and significantly so) fails. Default 3. */
  readonly errorRatio: number;
  /** V2 errors needed before its error rate is compared with V1's: a ratio of a handful says nothing. Default 5. */
  readonly minErrorsToCompare: number;
  /** V2 latencies sampled before its p99 is compared with V1's: the p99 of a few dozen calls is their maximum. Default 100. */
  readonly minLatencySample: number;
  /** V2 p99 above this many times V1's (and significantly so) fails. Default 2. */
  readonly p99Ratio: number;
  /** Workers that crashed over workers serving, above this fails. Default 0.10. */
  readonly maxWorkerFailureRate: number;
  /** RSS growth per hour as a fraction of its mean, above this fails. Default 0.10. */
  readonly maxMemoryGrowthPerHour: number;
  /**
   * RSS samples must span this long before growth is judged; after that the
   * slope's confidence interval decides (fail when its lower bound is over
   * the limit, pass when its upper bound is under it). Default 30000 (30 s).
   */
  readonly minGrowthSpanMs: number;
  /**
   * When both arms ran at capacity through the window (most calls waited
   * for a worker, or over `maxSaturationRate` were refused), V2's completed
   * calls per second per worker below this fraction of V1's (and
   * significantly so) fails. Default 0.8.
   */
  readonly minThroughputRatio: number;
  /** V2 calls refused for want of a worker (queue full, or their wait ran out), as a fraction of its calls, above this fails. Default 0.01. */
  readonly maxSaturationRate: number;
  /** V2's p99 time waiting for a worker (over every call) above this (ms) fails. Default 100. */
  readonly maxQueueWaitMs: number;
  /** Shadow mismatch rate above the A/A noise floor by more than this (and significantly so) fails. Default 0.01. */
  readonly mismatchMargin: number;
  /** Calls each arm needs before anything but a critical breach is judged. Default 100. */
  readonly minCalls: number;
  /**
   * Significance level of the statistical tests. Default 0.001: a rollout is
   * judged window after window, so a looser level would roll back healthy
   * canaries by chance.
   */
  readonly alpha: number;
}

/**
 * The plan's thresholds.
 *
 * @example
 * ```ts
 * import { DEFAULT_THRESHOLDS } from "molt";
 * console.log(DEFAULT_THRESHOLDS.maxErrorRate, DEFAULT_THRESHOLDS.maxP99Ms); // 0.05 200
 * ```
 */
export const DEFAULT_THRESHOLDS: Thresholds = {
  maxErrorRate: 0.05,
  criticalErrorRate: 0.10,
  criticalMinCalls: 20,
  maxP99Ms: 200,
  maxCpuPercent: 80,
  maxMemoryPercent: 90,
  errorRatio: 3,
  minErrorsToCompare: 5,
  minLatencySample: 100,
  p99Ratio: 2,
  maxWorkerFailureRate: 0.10,
  maxMemoryGrowthPerHour: 0.10,
  minGrowthSpanMs: 30_000,
  minThroughputRatio: 0.8,
  maxSaturationRate: 0.01,
  maxQueueWaitMs: 100,
  mismatchMargin: 0.01,
  minCalls: 100,
  alpha: 0.001,
};

const FRACTIONS = new Set<keyof Thresholds>(["maxErrorRate", "criticalErrorRate", "maxWorkerFailureRate", "mismatchMargin", "alpha", "minThroughputRatio", "maxSaturationRate"]);
const COUNTS = new Set<keyof Thresholds>(["criticalMinCalls", "minCalls", "minErrorsToCompare", "minGrowthSpanMs", "minLatencySample"]);

/**
 * Defaults overlaid with `given`, each checked: fractions in (0, 1), counts
 * positive integers, the rest positive. They are compared with what was
 * measured, never waited for, so a large one (a span of 1e12 ms that turns
 * a rule off) is honoured exactly. `prefix` goes before each option's name
 * in a ConfigError.
 *
 * @example
 * ```ts
 * import { resolveThresholds } from "molt";
 * console.log(resolveThresholds({ maxP99Ms: 500 }).maxP99Ms); // 500
 * ```
 */
export function resolveThresholds(given: Partial<Thresholds> = {}, owner = "monitor", prefix = ""): Thresholds {
  if (typeof given !== "object" || given === null) {
    throw new ConfigError({ owner, option: `${prefix}thresholds`, received: given, allowed: "an object of thresholds" });
  }
  for (const [key, value] of Object.entries(given)) {
    if (!(key in DEFAULT_THRESHOLDS)) {
      throw new ConfigError({ owner, option: `${prefix}${key}`, received: value, allowed: `one of the known thresholds (${Object.keys(DEFAULT_THRESHOLDS).join(", ")})` });
    }
    const k = key as keyof Thresholds;
    const ok = typeof value === "number" && Number.isFinite(value) &&
      (FRACTIONS.has(k) ? value > 0 && value < 1 : COUNTS.has(k) ? Number.isInteger(value) && value > 0 : value > 0);
    if (!ok) {
      const allowed = FRACTIONS.has(k) ? "a number between 0 and 1 (exclusive)" : COUNTS.has(k) ? "a positive integer" : "a positive number";
      throw new ConfigError({ owner, option: `${prefix}thresholds.${key}`, received: value, allowed });
    }
  }
  return { ...DEFAULT_THRESHOLDS, ...given };
}
