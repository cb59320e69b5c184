/**
 * The load comparison: both arms driven by the same workload in the same
 * run, in alternating blocks so that the machine's noise falls on both, and
 * each arm reported with confidence intervals. The verdict — V2 no worse
 * than V1 on latency and errors, no lower in throughput — is drawn from the
 * intervals of the differences, not from two single numbers; and only from
 * a workload both arms can serve, with enough calls to tell.
 *
 * @module
 */
import { SingleBar } from "cli-progress";
import { positiveDuration, refuser } from "../config.ts";
import { twoProportionTest } from "../monitor/statistics.ts";
import type { Pool } from "../pool/types.ts";
import { clusterBootstrap, clusterBootstrapDifference, type Estimate, quantile, seeded, tInterval, welchDifference, wilson } from "./statistics.ts";

/** One kind of call in the workload. */
export interface LoadMixItem {
  readonly command: string;
  readonly args?: unknown;
  /** Its share of the calls, relative to the others. Default 1. */
  readonly weight?: number;
  /** Default true (a workload for comparing should be safe to run). */
  readonly idempotent?: boolean;
}

/** Options of validateLoad. */
export interface LoadOptions {
  readonly v1: Pool;
  readonly v2: Pool;
  /** Concurrent simulated users. Default 8. */
  readonly users?: number;
  /** Calls each user makes per block; when given, blocks end by count rather than time. Default: by time. */
  readonly opsPerUser?: number;
  /** Total time across all blocks (when `opsPerUser` is not given). Default 6000 ms. */
  readonly durationMs?: number;
  /** Blocks, alternating V1 and V2 (an even number). Default 6. */
  readonly blocks?: number;
  /** The calls. Default `[{ command: "ping" }]`. */
  readonly mix?: readonly LoadMixItem[];
  /** Each call's deadline. Default 10000 ms. */
  readonly timeoutMs?: number;
  /** A difference smaller than this share of V1's value is not called worse, however certain. Default 0.10. */
  readonly tolerance?: number;
  /** Nor is a latency difference under this many milliseconds: scheduling noise on a busy machine. Default 1. */
  readonly latencyFloorMs?: number;
  /** An arm whose calls fail above this rate fails the comparison: a workload it cannot serve compares nothing. Default 0.05. */
  readonly maxErrorRate?: number;
  /** Calls each arm must make before the comparison can pass; fewer is "insufficient". Default 100. */
  readonly minCalls?: number;
  /** "bar" (a progress bar), "lines" (a line per block) or "none". Default: "bar" on a TTY, else "lines". */
  readonly progress?: "bar" | "lines" | "none";
  /** Seed of the bootstrap. Default 1. */
  readonly seed?: number;
}

/** One arm's measurements. */
export interface ArmLoad {
  readonly calls: number;
  readonly errors: number;
  /** Calls per second: the mean of its blocks, with a t interval (the value alone with a single block). */
  readonly throughput: Estimate;
  readonly p50Ms: Estimate;
  readonly p90Ms: Estimate;
  readonly p99Ms: Estimate;
  readonly errorRate: Estimate;
}

/** How V2 compares on one measure. */
export interface Comparison {
  readonly measure: "throughput" | "p50Ms" | "p99Ms" | "errorRate";
  /** V2 minus V1, with its interval (for errorRate: the rates' difference, with Fisher's p-value). */
  readonly difference: Estimate;
  /** "insufficient": too little to draw an interval (throughput needs 2 blocks per arm). */
  readonly outcome: "better" | "no different" | "worse" | "insufficient";
  readonly pValue?: number;
}

/** The load report. */
export interface LoadReport {
  readonly kind: "load";
  readonly users: number;
  readonly blocks: number;
  readonly v1: ArmLoad;
  readonly v2: ArmLoad;
  readonly comparisons: readonly Comparison[];
  /**
   * "fail": V2 worse on a measure, or an arm that completed no call or
   * failed above `maxErrorRate`; "insufficient": otherwise, but an arm made
   * fewer than `minCalls` calls or a measure could not be compared; "pass":
   * V2 no worse on any measure, on enough calls.
   */
  readonly verdict: "pass" | "fail" | "insufficient";
  /** Why the verdict is not "pass", one line each. */
  readonly reasons: readonly string[];
}

interface Raw {
  /** Latencies, one array per block. */
  blocks: number[][];
  blockThroughput: number[];
  calls: number;
  errors: number;
}

const positiveInt = (v: unknown): boolean => Number.isInteger(v) && (v as number) > 0;

/**
 * Drive both arms with the same workload, alternately, and compare.
 *
 * @example
 * ```ts
 * import { createPool, validateLoad } from "molt";
 * const handler = "./test/fixtures/echo_handler.py";
 * const v1 = await createPool({ name: "v1", strategy: "basic", handler, size: 1, heartbeatMs: 0 });
 * const v2 = await createPool({ name: "v2", handler, size: 1, heartbeatMs: 0 });
 * const report = await validateLoad({ v1, v2, users: 4, opsPerUser: 60, progress: "none" });
 * console.log(report.v1.calls, report.v2.calls, report.verdict); // 240 240 pass
 * await Promise.all([v1.stop(), v2.stop()]);
 * ```
 */
export async function validateLoad(o: LoadOptions): Promise<LoadReport> {
  const bad = refuser("validate.load");
  const users = o.users ?? 8;
  const blocks = o.blocks ?? 6;
  const durationMs = o.durationMs ?? 6000;
  const tolerance = o.tolerance ?? 0.1;
  if (!positiveInt(users)) bad("users", users, "a positive integer");
  if (!positiveInt(blocks) || blocks % 2 !== 0) bad("blocks", blocks, "a positive even integer");
  if (o.opsPerUser !== undefined && !positiveInt(o.opsPerUser)) bad("opsPerUser", o.opsPerUser, "a positive integer");
  if (!positiveDuration.is(durationMs)) bad("durationMs", durationMs, positiveDuration.allowed);
  if (o.timeoutMs !== undefined && !positiveDuration.is(o.timeoutMs)) bad("timeoutMs", o.timeoutMs, positiveDuration.allowed);
  if (!(tolerance >= 0 && tolerance < 1)) bad("tolerance", tolerance, "a number from 0 to 1 (exclusive)");
  if (o.latencyFloorMs !== undefined && !(o.latencyFloorMs >= 0)) bad("latencyFloorMs", o.latencyFloorMs, "a non-negative number");
  const maxErrorRate = o.maxErrorRate ?? 0.05;
  const minCalls = o.minCalls ?? 100;
  if (!(typeof maxErrorRate === "number" && maxErrorRate >= 0 && maxErrorRate < 1)) bad("maxErrorRate", maxErrorRate, "a number from 0 to 1 (exclusive)");
  if (!positiveInt(minCalls)) bad("minCalls", minCalls, "a positive integer");
  const mix = o.mix ?? [{ command: "ping" }];
  if (!Array.isArray(mix) || mix.length === 0 || mix.some((m) => typeof m?.command !== "string")) bad("mix", mix, "a non-empty array of { command, args?, weight? }");
  // A fixed rotation through the mix by weight: both arms get exactly the same sequence of calls.
  const rotation = mix.flatMap((m) => Array.from({ length: Math.max(1, Math.round(m.weight ?? 1)) }, () => m));
  const opsPerBlock = o.opsPerUser === undefined ? null : Math.max(1, Math.round(o.opsPerUser / (blocks / 2)));
  const blockMs = durationMs / blocks;
  const raw: Record<"v1" | "v2", Raw> = { v1: { blocks: [], blockThroughput: [], calls: 0, errors: 0 }, v2: { blocks: [], blockThroughput: [], calls: 0, errors: 0 } };
  const mode = o.progress ?? (process.stdout.isTTY ? "bar" : "lines");
  const bar = mode === "bar" ? new SingleBar({ format: "load {bar} {value}/{total} blocks | {arm} {rate} calls/s", hideCursor: true }) : null;
  bar?.start(blocks, 0, { arm: "", rate: 0 });

  for (let b = 0; b < blocks; b++) {
    const arm = b % 2 === 0 ? "v1" : "v2";
    const pool = arm === "v1" ? o.v1 : o.v2;
    const r = raw[arm];
    const t0 = performance.now();
    const latencies: number[] = [];
    r.blocks.push(latencies);
    let calls = 0;
    await Promise.all(Array.from({ length: users }, async (_, user) => {
      for (let i = 0; opsPerBlock === null ? performance.now() - t0 < blockMs : i < opsPerBlock; i++) {
        const item = rotation[(user + i * users) % rotation.length]!;
        const start = performance.now();
        const ok = await pool.execute(item.command, item.args ?? null, { idempotent: item.idempotent ?? true, timeoutMs: o.timeoutMs ?? 10_000, sessionId: `load-${user}` })
          .then(() => true, () => false);
        latencies.push(performance.now() - start);
        r.calls++;
        calls++;
        if (!ok) r.errors++;
      }
    }));
    const rate = calls / ((performance.now() - t0) / 1000);
    r.blockThroughput.push(rate);
    bar?.update(b + 1, { arm, rate: Math.round(rate) });
    if (mode === "lines") console.log(`load block ${b + 1}/${blocks} ${arm}: ${calls} calls, ${Math.round(rate)} calls/s`);
  }
  bar?.stop();

  const random = seeded(o.seed ?? 1);
  const summarise = (r: Raw): ArmLoad => ({
    calls: r.calls,
    errors: r.errors,
    throughput: tInterval(r.blockThroughput) ?? point(r.blockThroughput[0] ?? 0),
    p50Ms: clusterBootstrap(thin(r.blocks), (s) => quantile(s, 0.5), random),
    p90Ms: clusterBootstrap(thin(r.blocks), (s) => quantile(s, 0.9), random),
    p99Ms: clusterBootstrap(thin(r.blocks), (s) => quantile(s, 0.99), random),
    errorRate: wilson(r.errors, r.calls),
  });
  const v1 = summarise(raw.v1);
  const v2 = summarise(raw.v2);
  const floor = o.latencyFloorMs ?? 1;
  const judge = (measure: Comparison["measure"], difference: Estimate, base: number, higherIsWorse: boolean): Comparison => {
    const margin = Math.max(Math.abs(base) * tolerance, measure === "throughput" ? 0 : floor);
    const worse = higherIsWorse ? difference.low > margin : difference.high < -margin;
    const better = higherIsWorse ? difference.high < -margin : difference.low > margin;
    return { measure, difference, outcome: worse ? "worse" : better ? "better" : "no different" };
  };
  const errors = twoProportionTest(raw.v1.errors, raw.v1.calls, raw.v2.errors, raw.v2.calls);
  const errorDiff = { value: v2.errorRate.value - v1.errorRate.value, low: v2.errorRate.low - v1.errorRate.high, high: v2.errorRate.high - v1.errorRate.low };
  // Intervals need blocks to vary over: with one block per arm, no measure but errors can be compared.
  const oneBlock = blocks < 4;
  const throughput = welchDifference(raw.v1.blockThroughput, raw.v2.blockThroughput);
  const insufficient = (measure: Comparison["measure"], v2Value: number, v1Value: number): Comparison => ({ measure, difference: point(v2Value - v1Value), outcome: "insufficient" });
  const latency = (measure: "p50Ms" | "p99Ms", q: number): Comparison =>
    oneBlock
      ? insufficient(measure, v2[measure].value, v1[measure].value)
      : judge(measure, clusterBootstrapDifference(thin(raw.v1.blocks), thin(raw.v2.blocks), (s) => quantile(s, q), random), v1[measure].value, true);
  const comparisons: Comparison[] = [
    throughput === null ? insufficient("throughput", v2.throughput.value, v1.throughput.value) : judge("throughput", throughput, v1.throughput.value, false),
    latency("p50Ms", 0.5),
    latency("p99Ms", 0.99),
    { measure: "errorRate", difference: errorDiff, outcome: errors.pValue < 0.01 ? "worse" : "no different", pValue: errors.pValue },
  ];
  const failures = [
    ...armFailures("V1", raw.v1, maxErrorRate),
    ...armFailures("V2", raw.v2, maxErrorRate),
    ...comparisons.filter((c) => c.outcome === "worse").map((c) => `V2 is worse on ${c.measure}: V2 − V1 = ${c.difference.value.toPrecision(3)} [${c.difference.low.toPrecision(3)}, ${c.difference.high.toPrecision(3)}]`),
  ];
  const gaps = [
    ...([["V1", raw.v1], ["V2", raw.v2]] as const).flatMap(([arm, r]) => (r.calls < minCalls ? [`${arm} made ${r.calls} calls, fewer than minCalls (${minCalls})`] : [])),
    ...comparisons.filter((c) => c.outcome === "insufficient").map((c) => `${c.measure} could not be compared: each arm needs 2 blocks or more (blocks: ${blocks}; 6 or more is better)`),
  ];
  const verdict = failures.length > 0 ? "fail" : gaps.length > 0 ? "insufficient" : "pass";
  return { kind: "load", users, blocks, v1, v2, comparisons, verdict, reasons: verdict === "fail" ? failures : gaps };
}

/** Why an arm's own results make the comparison fail: it completed no call, or failed too many. */
function armFailures(arm: string, r: Raw, maxErrorRate: number): string[] {
  if (r.calls > 0 && r.errors === r.calls) return [`${arm} completed none of its ${r.calls} calls: the workload cannot run there (check the command and its args)`];
  if (r.calls === 0) return [`${arm} made no call`];
  const rate = r.errors / r.calls;
  return rate > maxErrorRate ? [`${arm} failed ${r.errors} of ${r.calls} calls (${(100 * rate).toFixed(2)}%), above maxErrorRate (${(100 * maxErrorRate).toFixed(2)}%)`] : [];
}

/** A value with no interval around it. */
const point = (value: number): Estimate => ({ value, low: value, high: value });

/** At most 4000 latencies in all, evenly spaced within each block, to keep the bootstrap quick. */
function thin(blocks: readonly (readonly number[])[]): number[][] {
  const each = Math.max(1, Math.floor(4000 / Math.max(1, blocks.length)));
  return blocks.map((xs) => {
    if (xs.length <= each) return [...xs];
    const step = xs.length / each;
    return Array.from({ length: each }, (_, i) => xs[Math.floor(i * step)]!);
  });
}
