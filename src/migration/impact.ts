/**
 * What the callers of a migration lived through, from every window both
 * arms recorded in `pool_metrics` (a migration's own, or each fleet node's):
 * calls and failures per arm and per error tag, fallbacks to V1, how many of
 * V2's failures V1's rate does not explain, and V1 against V2 over the whole
 * rollout rather than its last window.
 *
 * @module
 */
import { mergeWindows, type Row } from "../fleet/fleet-arms.ts";
import type { NodeWindow } from "../fleet/node-window.ts";
import type { Store } from "../store/store.ts";

/** One arm over every recorded window. */
export interface ArmImpact {
  readonly windows: number;
  readonly nodes: number;
  readonly calls: number;
  /** Calls that did not succeed for their caller (an error raised by the handler included). */
  readonly failed: number;
  /** Failed calls by their error's `_tag`. */
  readonly byTag: Readonly<Record<string, number>>;
  readonly errorRate: number | null;
  /** The error rate's 95% Wilson interval. */
  readonly errorRateInterval: readonly [number, number] | null;
  readonly p50Ms: number | null;
  readonly p90Ms: number | null;
  readonly p99Ms: number | null;
  /** Completed calls per second over the time the windows span. */
  readonly throughputPerS: number | null;
  readonly cpuPercent: number | null;
  readonly memoryPercent: number | null;
  /** Calls bound for V2 that V1 served (V2 only). */
  readonly fallbacks: number;
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

/** The recorded windows of `migrationId`, or null when none was recorded. */
export async function recordedImpact(store: Store, migrationId: string): Promise<Impact | null> {
  const names = new Set(["v1", "v2", ...(await store.poolConfigurations.list()).map((c) => c.name)]);
  const rows: Row[] = [];
  for (const name of names) {
    for (const e of await store.poolMetrics.range(name)) {
      const w = e.metrics as unknown as NodeWindow;
      if (w.target === migrationId && (w.arm === "v1" || w.arm === "v2")) rows.push({ key: `${e.poolName}:${e.nodeId}@${e.timestamp}`, nodeId: e.nodeId, w });
    }
  }
  if (rows.length === 0) return null;
  const v1 = arm(rows.filter((r) => r.w.arm === "v1"));
  const v2 = arm(rows.filter((r) => r.w.arm === "v2"));
  return {
    from: Math.min(...rows.map((r) => r.w.from)),
    to: Math.max(...rows.map((r) => r.w.to)),
    v1,
    v2,
    excessV2Failures: excess(v1, v2),
  };
}

function arm(rows: readonly Row[]): ArmImpact {
  const merged = mergeWindows(rows);
  const calls = merged.calls;
  const failed = merged.errors;
  const byTag: Record<string, number> = {};
  for (const r of rows) for (const [tag, n] of Object.entries(r.w.tags)) byTag[tag] = (byTag[tag] ?? 0) + n;
  const some = (v: number): number | null => (calls - failed > 0 ? v : null);
  return {
    windows: rows.length,
    nodes: new Set(rows.map((r) => r.nodeId)).size,
    calls,
    failed,
    byTag,
    errorRate: calls === 0 ? null : failed / calls,
    errorRateInterval: calls === 0 ? null : wilson(failed, calls),
    p50Ms: some(merged.p50Ms),
    p90Ms: some(merged.p90Ms),
    p99Ms: some(merged.p99Ms),
    throughputPerS: merged.windowS > 0 ? (calls - failed) / merged.windowS : null,
    cpuPercent: merged.cpuPercent,
    memoryPercent: merged.memoryPercent,
    fallbacks: rows.reduce((n, r) => n + (r.w.fallbacks ?? 0), 0),
  };
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
