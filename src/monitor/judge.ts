/**
 * The health judgement: both arms measured over the same window, every rule
 * of the plan evaluated with its value, threshold and statistics, and one
 * verdict. Pure: the same inputs always give the same judgement, which is
 * recorded with them.
 *
 * @module
 */
import { exceedanceTest, growthInterval, proportionAboveTest, proportionBelowTest, twoProportionTest } from "./statistics.ts";
import { DEFAULT_THRESHOLDS, type Thresholds } from "./thresholds.ts";

/** One arm over the window being judged. */
export interface ArmWindow {
  /** Calls that ended in the window. */
  readonly calls: number;
  /** Calls that did not succeed. */
  readonly errors: number;
  /** Seconds the window covers. */
  readonly windowS: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  /** A uniform sample of the window's latencies (ms), for the quantile test. */
  readonly latencySample: readonly number[];
  /** Workers serving. */
  readonly workers: number;
  /** Workers that crashed in the window. */
  readonly crashes: number;
  /** Calls refused for want of a worker (queue full, or their wait ran out). */
  readonly saturated: number;
  /** Calls that waited in the queue for a worker. */
  readonly queued: number;
  /** p99 over every call of the time spent waiting for a worker. */
  readonly queueWaitP99Ms: number;
  /** CPU use (%), or null when not measured. */
  readonly cpuPercent: number | null;
  /** Memory use (%) of the machine's, or null when not measured. */
  readonly memoryPercent: number | null;
  /** Total RSS of the arm's workers over time, since its set of workers last changed. */
  readonly rss: readonly { readonly at: number; readonly bytes: number }[];
}

/** Shadow comparison over the window: V2's mismatches, and the A/A floor measured before. */
export interface ShadowWindow {
  readonly compared: number;
  readonly mismatched: number;
  /** The A/A mismatch rate (0–1). */
  readonly noiseFloor: number;
}

/** What is judged. */
export interface JudgeInput {
  readonly v1: ArmWindow;
  readonly v2: ArmWindow;
  readonly shadow?: ShadowWindow | null;
}

/**
 * How a single rule came out. "inconclusive": over its threshold, but not
 * significantly; "insufficient": no evidence to judge it by (not measured,
 * too few samples, too short a span), which is never shown as a pass.
 */
export type RuleStatus = "pass" | "fail" | "inconclusive" | "insufficient";

/** One rule's result, with what it looked at. */
export interface RuleResult {
  readonly rule: string;
  readonly status: RuleStatus;
  readonly value: number | null;
  readonly threshold: number;
  /** Test statistics and counts behind the status. */
  readonly stats?: Readonly<Record<string, number>>;
  readonly critical?: boolean;
}

/** The verdict. `insufficient_data` holds the stage and never counts as a failure. */
export type Verdict = "pass" | "fail" | "inconclusive" | "insufficient_data";

/** A judgement. */
export interface Judgement {
  readonly verdict: Verdict;
  /** A critical breach: roll back at once. */
  readonly critical: boolean;
  readonly rules: readonly RuleResult[];
  /** The rules that failed (or were inconclusive), for one line of explanation. */
  readonly reasons: readonly string[];
}

const rate = (x: number, n: number): number => (n === 0 ? 0 : x / n);

/**
 * Judge V2 against V1 over the same window.
 *
 * @example
 * ```ts
 * import { judge } from "molt";
 * const arm = { calls: 1000, errors: 5, windowS: 60, p50Ms: 4, p90Ms: 8, p99Ms: 20, latencySample: [], workers: 2, crashes: 0, saturated: 0, queued: 0, queueWaitP99Ms: 0, cpuPercent: null, memoryPercent: null, rss: [] };
 * console.log(judge({ v1: arm, v2: { ...arm, errors: 150 } }).verdict, judge({ v1: arm, v2: arm }).verdict); // fail pass
 * ```
 */
export function judge(input: JudgeInput, t: Thresholds = DEFAULT_THRESHOLDS): Judgement {
  const { v1, v2 } = input;
  const rules: RuleResult[] = [];
  const e1 = rate(v1.errors, v1.calls);
  const e2 = rate(v2.errors, v2.calls);

  const critical = v2.calls >= t.criticalMinCalls && e2 > t.criticalErrorRate;
  rules.push({ rule: "v2_error_rate_critical", status: critical ? "fail" : "pass", value: e2, threshold: t.criticalErrorRate, stats: { calls: v2.calls, errors: v2.errors }, critical });

  const enough = v1.calls >= t.minCalls && v2.calls >= t.minCalls;
  if (!enough) {
    rules.push({ rule: "minimum_calls", status: "insufficient", value: Math.min(v1.calls, v2.calls), threshold: t.minCalls, stats: { v1Calls: v1.calls, v2Calls: v2.calls } });
    return finish(critical ? "fail" : "insufficient_data", critical, rules);
  }

  rules.push(above("v2_error_rate", e2, t.maxErrorRate));
  rules.push(above("v2_p99_ms", v2.p99Ms, t.maxP99Ms));
  rules.push(v2.cpuPercent === null ? insufficient("v2_cpu_percent", t.maxCpuPercent) : above("v2_cpu_percent", v2.cpuPercent, t.maxCpuPercent));
  rules.push(v2.memoryPercent === null ? insufficient("v2_memory_percent", t.maxMemoryPercent) : above("v2_memory_percent", v2.memoryPercent, t.maxMemoryPercent));
  rules.push({ ...above("v2_saturation_rate", rate(v2.saturated, v2.calls), t.maxSaturationRate), stats: { saturated: v2.saturated, calls: v2.calls } });
  rules.push({ ...above("v2_queue_wait_p99_ms", v2.queueWaitP99Ms, t.maxQueueWaitMs), stats: { queued: v2.queued, calls: v2.calls } });
  rules.push(throughput(v1, v2, t));

  // Relative rules: a ratio over its threshold fails only when the difference is significant.
  const errorTest = twoProportionTest(v1.errors, v1.calls, v2.errors, v2.calls);
  const errorRatio = e1 === 0 ? (e2 === 0 ? 0 : Infinity) : e2 / e1;
  const errorStats = { v1Rate: e1, v2Rate: e2, v2Errors: v2.errors, z: errorTest.z, pValue: errorTest.pValue };
  rules.push(
    v2.errors < t.minErrorsToCompare
      ? { rule: "error_rate_vs_v1", status: "pass", value: Number.isFinite(errorRatio) ? errorRatio : null, threshold: t.errorRatio, stats: errorStats }
      : relative("error_rate_vs_v1", errorRatio, t.errorRatio, errorTest.pValue < t.alpha, errorStats),
  );

  const p99Ratio = v1.p99Ms === 0 ? 0 : v2.p99Ms / v1.p99Ms;
  const latency = v2.latencySample.length === 0 ? null : exceedanceTest(v2.latencySample, v1.p90Ms, 0.9);
  const latencyStats: Record<string, number> = latency === null
    ? { v1P99: v1.p99Ms, v2P99: v2.p99Ms }
    : { v1P99: v1.p99Ms, v2P99: v2.p99Ms, v1P90: v1.p90Ms, v2AboveV1P90: latency.above, sample: latency.n, z: latency.z, pValue: latency.pValue };
  rules.push(
    v2.latencySample.length < t.minLatencySample
      ? { ...insufficient("p99_vs_v1", t.p99Ratio), stats: { sample: v2.latencySample.length } }
      : relative("p99_vs_v1", p99Ratio, t.p99Ratio, latency !== null && latency.pValue < t.alpha, latencyStats),
  );

  const failureRate = rate(v2.crashes, Math.max(v2.workers, 1));
  rules.push({ ...above("worker_failure_rate", failureRate, t.maxWorkerFailureRate), stats: { crashes: v2.crashes, workers: v2.workers } });

  rules.push(memoryGrowth(v2, t));

  const shadow = input.shadow;
  if (shadow === undefined || shadow === null || shadow.compared === 0) {
    rules.push(insufficient("shadow_mismatch_rate", t.mismatchMargin));
  } else {
    const mismatch = rate(shadow.mismatched, shadow.compared);
    const limit = Math.min(shadow.noiseFloor + t.mismatchMargin, 0.999);
    const test = proportionAboveTest(shadow.mismatched, shadow.compared, limit);
    const stats = { compared: shadow.compared, mismatched: shadow.mismatched, noiseFloor: shadow.noiseFloor, z: test.z, pValue: test.pValue };
    rules.push(relative("shadow_mismatch_rate", mismatch, limit, test.pValue < t.alpha, stats));
  }

  const failed = critical || rules.some((r) => r.status === "fail");
  const unsure = rules.some((r) => r.status === "inconclusive");
  return finish(failed ? "fail" : unsure ? "inconclusive" : "pass", critical, rules);
}

function above(rule: string, value: number, threshold: number): RuleResult {
  return { rule, status: value > threshold ? "fail" : "pass", value, threshold };
}

function insufficient(rule: string, threshold: number, stats?: Record<string, number>): RuleResult {
  return { rule, status: "insufficient", value: null, threshold, ...(stats === undefined ? {} : { stats }) };
}

/**
 * Growth from the slope's interval over at least `minGrowthSpanMs` of RSS
 * samples: a leak shows as a lower bound over the limit, a steady arm as an
 * upper bound under it; a noisy or short series proves neither. A failure
 * needs the later half of the series to grow too: a leak keeps its slope,
 * while warming up (caches filling after a start) levels off.
 */
function memoryGrowth(v2: ArmWindow, t: Thresholds): RuleResult {
  const name = "memory_growth_per_hour";
  const limit = t.maxMemoryGrowthPerHour;
  const spanMs = v2.rss.length < 2 ? 0 : v2.rss.at(-1)!.at - v2.rss[0]!.at;
  const g = spanMs < t.minGrowthSpanMs ? null : growthInterval(v2.rss, t.alpha);
  if (g === null) return insufficient(name, limit, { samples: v2.rss.length, spanMs });
  const middle = v2.rss[0]!.at + spanMs / 2;
  const later = growthInterval(v2.rss.filter((s) => s.at >= middle), t.alpha);
  const status: RuleStatus = g.low > limit ? (later !== null && later.low > limit ? "fail" : "insufficient") : g.high < limit ? "pass" : "insufficient";
  const stats = { samples: g.samples, spanMs: g.spanMs, low: g.low, high: g.high, ...(later === null ? {} : { laterLow: later.low, laterHigh: later.high }) };
  return { rule: name, status, value: g.perHour, threshold: limit, stats };
}

/**
 * An arm ran at its capacity through the window: most of its calls waited
 * for a worker, or more than `maxSaturationRate` of them were refused for
 * want of one. A burst that queues a few calls for a moment is not that.
 */
const atCapacity = (a: ArmWindow, t: Thresholds): boolean => a.queued >= 0.5 * a.calls || a.saturated > t.maxSaturationRate * a.calls;

/**
 * Throughput: an arm's completed calls per second per worker measure what
 * it was offered (its share of the traffic) until it runs at capacity, and
 * its capacity only then. So the rates are compared only when both arms ran
 * at capacity through the window: V2's must reach `minThroughputRatio` of
 * V1's. V2 not at capacity served all it was offered, and passes; V2 at
 * capacity beside a V1 that is not has nothing to be compared with (its
 * saturation rules judge it). The test conditions on the completions of
 * both arms: at the threshold ratio, V2's share of them would be binomial
 * with a known probability.
 */
function throughput(v1: ArmWindow, v2: ArmWindow, t: Thresholds): RuleResult {
  const name = "throughput_vs_v1";
  const ok1 = v1.calls - v1.errors;
  const ok2 = v2.calls - v2.errors;
  const exposure1 = v1.workers * v1.windowS;
  const exposure2 = v2.workers * v2.windowS;
  if (ok1 === 0 || exposure1 <= 0 || exposure2 <= 0) return insufficient(name, t.minThroughputRatio, { v1Completed: ok1 });
  const v1Rate = ok1 / exposure1;
  const v2Rate = ok2 / exposure2;
  const ratio = v2Rate / v1Rate;
  const stats = { v1PerWorkerPerS: v1Rate, v2PerWorkerPerS: v2Rate, v1Queued: v1.queued, v2Queued: v2.queued, v2Saturated: v2.saturated };
  if (!atCapacity(v2, t) || ratio >= t.minThroughputRatio) return { rule: name, status: "pass", value: ratio, threshold: t.minThroughputRatio, stats };
  if (!atCapacity(v1, t)) return { ...insufficient(name, t.minThroughputRatio, stats), value: ratio };
  const p0 = (exposure2 * t.minThroughputRatio) / (exposure2 * t.minThroughputRatio + exposure1);
  const test = proportionBelowTest(ok2, ok1 + ok2, p0);
  return { rule: name, status: test.pValue < t.alpha ? "fail" : "inconclusive", value: ratio, threshold: t.minThroughputRatio, stats: { ...stats, z: test.z, pValue: test.pValue } };
}

/** Over the threshold and significant: fail; over but not significant: inconclusive. */
function relative(rule: string, value: number, threshold: number, significant: boolean, stats: Record<string, number>): RuleResult {
  const status: RuleStatus = value <= threshold ? "pass" : significant ? "fail" : "inconclusive";
  return { rule, status, value: Number.isFinite(value) ? value : null, threshold, stats };
}

/**
 * A rule's value for people: four significant digits; null (a ratio to a
 * V1 with nothing to divide by, such as no V1 errors) as "unbounded".
 */
export function ruleValue(value: number | null): string {
  return value === null ? "unbounded (nothing on V1 to compare with)" : String(Number(value.toPrecision(4)));
}

function finish(verdict: Verdict, critical: boolean, rules: RuleResult[]): Judgement {
  const told = (r: RuleResult): boolean => r.status === "fail" || r.status === "inconclusive" || (verdict === "insufficient_data" && r.rule === "minimum_calls");
  const reasons = rules.filter(told).map((r) => `${r.rule} ${r.status}: ${ruleValue(r.value)} vs ${r.threshold}`);
  return { verdict, critical, rules, reasons };
}
