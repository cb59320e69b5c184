/**
 * What the callers of a migration lived through, from every window both
 * arms recorded in `pool_metrics` (a migration's own, or each fleet node's):
 * calls and failures per arm and per error tag, fallbacks to V1, how many of
 * V2's failures V1's rate does not explain, and V1 against V2 over the whole
 * rollout rather than its last window.
 *
 * @module
 */
import { addAll, mergeWindows, type Row } from "../fleet/fleet-arms.ts";
import type { NodeWindow } from "../fleet/node-window.ts";
import { poissonInterval, tQuantile } from "../monitor/statistics.ts";
import type { Store } from "../store/store.ts";

/** A 95% interval. */
export type Interval = readonly [number, number];

/** One arm over every recorded window. */
export interface ArmImpact {
  readonly windows: number;
  readonly nodes: number;
  /**
   * Where calls, failed and byTag come from: "callers" — what the router's
   * callers got from this arm; "pool" — every call the pool ran, shadow
   * calls included (windows written without a router, or before molt
   * counted callers).
   */
  readonly counted: "callers" | "pool";
  readonly calls: number;
  /** Calls that did not succeed for their caller (an error raised by the handler included). */
  readonly failed: number;
  /** Failed calls by their error's `_tag`. */
  readonly byTag: Readonly<Record<string, number>>;
  /** Every call the pool ran in the windows, shadow calls included. */
  readonly poolCalls: number;
  readonly errorRate: number | null;
  /** The error rate's 95% Wilson interval. */
  readonly errorRateInterval: readonly [number, number] | null;
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly p99Ms: number | null;
  /** Calls that succeeded, per second over the time the windows span. */
  readonly throughputPerS: number | null;
  /** Mean CPU of a worker over the windows. */
  readonly cpuPercent: number | null;
  /** Mean share of the machine's memory its workers held over the windows. */
  readonly memoryPercent: number | null;
  /** The highest share any window saw. */
  readonly memoryPeakPercent: number | null;
  /** Calls bound for V2 that V1 served (V2 only). */
  readonly fallbacks: number;
  /**
   * 95% intervals: of each quantile, from the order statistics of every
   * call the pool ran (the values at the ranks the binomial bounds give);
   * of throughput, the succeeded calls taken as a Poisson count (exact,
   * Garwood); of CPU and memory, of the mean over the windows with
   * Student's t (null below two windows).
   */
  readonly intervals: {
    readonly p50Ms: Interval | null;
    readonly p90Ms: Interval | null;
    readonly p99Ms: Interval | null;
    readonly throughputPerS: Interval | null;
    readonly cpuPercent: Interval | null;
    readonly memoryPercent: Interval | null;
  };
}

/** One arm's calls in one window (every node's added), for charts over time. */
export interface ArmPoint {
  readonly arm: "v1" | "v2";
  /** The window's start and end (epoch ms). */
  readonly from: number;
  readonly to: number;
  /** What callers got (the pool's own calls in windows recorded without a router). */
  readonly calls: number;
  readonly failed: number;
  /** failed / calls; null without a call. */
  readonly errorRate: number | null;
  /** The pool's p99 latency in the window; null without a call that succeeded. */
  readonly p99Ms: number | null;
}

/** Both arms, and V2's failures beyond what V1's rate predicts. */
export interface Impact {
  readonly from: number;
  readonly to: number;
  readonly v1: ArmImpact;
  readonly v2: ArmImpact;
  /** V2's failures minus V2's calls × V1's error rate, with its 95% interval; null without calls on both arms. */
  readonly excessV2Failures: { readonly value: number; readonly low: number; readonly high: number } | null;
}

const Z95 = 1.959964;

/** @internal Every window of either arm recorded for `migrationId`. */
export async function recordedRows(store: Store, migrationId: string): Promise<Row[]> {
  const names = new Set(["v1", "v2", ...(await store.poolConfigurations.list()).map((c) => c.name)]);
  const rows: Row[] = [];
  for (const name of names) {
    for (const e of await store.poolMetrics.range(name)) {
      const w = e.metrics as unknown as NodeWindow;
      if (w.target === migrationId && (w.arm === "v1" || w.arm === "v2")) rows.push({ key: `${e.poolName}:${e.nodeId}@${e.timestamp}`, nodeId: e.nodeId, w });
    }
  }
  return rows;
}

/** @internal Each arm's windows over time, every node's window of the same time added. */
export function armSeries(rows: readonly Row[]): ArmPoint[] {
  const groups = new Map<string, Row[]>();
  for (const r of rows) groups.set(`${r.w.arm}@${r.w.from}`, [...(groups.get(`${r.w.arm}@${r.w.from}`) ?? []), r]);
  return [...groups.values()].map((g) => {
    const m = mergeWindows(g);
    // What callers got, as the report's table counts it, when every window of the group has it.
    const callers = g.every((r) => r.w.callers != null) ? g.map((r) => r.w.callers!) : null;
    const calls = callers === null ? m.calls : callers.reduce((k, c) => k + c.calls, 0);
    const failed = callers === null ? m.errors : callers.reduce((k, c) => k + c.failed, 0);
    return { arm: g[0]!.w.arm!, from: g[0]!.w.from, to: g.reduce((t, r) => Math.max(t, r.w.to), 0), calls, failed, errorRate: calls === 0 ? null : failed / calls, p99Ms: m.calls - m.errors > 0 ? m.p99Ms : null };
  }).sort((a, b) => a.from - b.from || a.arm.localeCompare(b.arm));
}

/** @internal The impact of some recorded windows, or null when there are none. */
export function impactOf(rows: readonly Row[]): Impact | null {
  if (rows.length === 0) return null;
  const v1 = arm(rows.filter((r) => r.w.arm === "v1"));
  const v2 = arm(rows.filter((r) => r.w.arm === "v2"));
  return {
    from: rows.reduce((t, r) => Math.min(t, r.w.from), Infinity),
    to: rows.reduce((t, r) => Math.max(t, r.w.to), -Infinity),
    v1,
    v2,
    excessV2Failures: excess(v1, v2),
  };
}

function arm(rows: readonly Row[]): ArmImpact {
  const sums = addAll(rows);
  const merged = mergeWindows(rows, () => sums);
  // Callers' outcomes when every window has them; a mix would count some shadow calls as callers'.
  const callers = rows.length > 0 && rows.every((r) => r.w.callers != null) ? rows.map((r) => r.w.callers!) : null;
  const calls = callers === null ? merged.calls : callers.reduce((k, c) => k + c.calls, 0);
  const failed = callers === null ? merged.errors : callers.reduce((k, c) => k + c.failed, 0);
  const byTag: Record<string, number> = {};
  for (const tags of callers === null ? rows.map((r) => r.w.tags) : callers.map((c) => c.tags)) for (const [tag, n] of Object.entries(tags)) byTag[tag] = (byTag[tag] ?? 0) + n;
  const measured = merged.calls - merged.errors > 0;
  const some = (v: number): number | null => (measured ? v : null);
  const latency = sums.latency;
  const n = latency.totalCount;
  // The q-quantile's distribution-free interval: the order statistics at ranks ⌊n·q − z·√(n·q·(1−q))⌋ and
  // ⌈n·q + z·√(n·q·(1−q))⌉ (clamped to 1…n), read from the merged histogram (its value at percentile 100·r/n is the r-th).
  const quantile = (q: number): Interval | null => {
    if (!measured || n === 0) return null;
    const half = Z95 * Math.sqrt(n * q * (1 - q));
    const rank = (r: number): number => latency.getValueAtPercentile((100 * Math.min(n, Math.max(1, r))) / n) / 1000;
    return [rank(Math.floor(n * q - half)), rank(Math.ceil(n * q + half))];
  };
  const completed = calls - failed;
  const cpu = rows.map((r) => r.w.cpuPercent).filter((v): v is number => v !== null);
  const memory = rows.map((r) => r.w.memoryPercent).filter((v): v is number => v !== null);
  return {
    windows: rows.length,
    nodes: new Set(rows.map((r) => r.nodeId)).size,
    counted: callers === null ? "pool" : "callers",
    calls,
    failed,
    byTag,
    poolCalls: merged.calls,
    errorRate: calls === 0 ? null : failed / calls,
    errorRateInterval: calls === 0 ? null : wilson(failed, calls),
    p50Ms: some(merged.p50Ms),
    p90Ms: some(merged.p90Ms),
    p99Ms: some(merged.p99Ms),
    throughputPerS: merged.windowS > 0 ? completed / merged.windowS : null,
    cpuPercent: mean(cpu),
    memoryPercent: mean(memory),
    memoryPeakPercent: merged.memoryPercent,
    fallbacks: rows.reduce((k, r) => k + (r.w.fallbacks ?? 0), 0),
    intervals: {
      p50Ms: quantile(0.5),
      p90Ms: quantile(0.9),
      p99Ms: quantile(0.99),
      throughputPerS: merged.windowS > 0 ? [poissonInterval(completed)[0] / merged.windowS, poissonInterval(completed)[1] / merged.windowS] : null,
      cpuPercent: meanInterval(cpu),
      memoryPercent: meanInterval(memory),
    },
  };
}

const mean = (xs: readonly number[]): number | null => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);

/**
 * The mean's 95% interval with Student's t (few windows are common: with two,
 * t is 12.7, not 1.96); null below two values. Windows next to each other are
 * not independent, so read it as a lower bound on the uncertainty.
 */
function meanInterval(xs: readonly number[]): Interval | null {
  if (xs.length < 2) return null;
  const m = mean(xs)!;
  const sd = Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
  const half = (tQuantile(0.975, xs.length - 1) * sd) / Math.sqrt(xs.length);
  return [Math.max(0, m - half), m + half];
}

function wilson(k: number, n: number): [number, number] {
  const p = k / n;
  const d = 1 + (Z95 * Z95) / n;
  const centre = (p + (Z95 * Z95) / (2 * n)) / d;
  const half = (Z95 * Math.sqrt((p * (1 - p)) / n + (Z95 * Z95) / (4 * n * n))) / d;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

function excess(v1: ArmImpact, v2: ArmImpact): Impact["excessV2Failures"] {
  if (v1.calls === 0 || v2.calls === 0) return null;
  const p1 = v1.failed / v1.calls;
  const p2 = v2.failed / v2.calls;
  const value = v2.failed - v2.calls * p1;
  const se = v2.calls * Math.sqrt((p1 * (1 - p1)) / v1.calls + (p2 * (1 - p2)) / v2.calls);
  return { value, low: value - Z95 * se, high: value + Z95 * se };
}
