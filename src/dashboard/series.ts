/**
 * The dashboard's charts' data: each arm's recorded windows over time
 * (every node's window of the same time merged), read from `pool_metrics`
 * a little at a time — each poll reads only the rows written since the
 * last one, and a window's point is computed once, again only when a late
 * node adds to it.
 *
 * @module
 */
import { mergeWindows, type Row } from "../fleet/fleet-arms.ts";
import type { NodeWindow } from "../fleet/node-window.ts";
import type { Store } from "../store/store.ts";

/** One arm in one window, every node's calls added. */
export interface DashboardPoint {
  readonly arm: "v1" | "v2";
  /** The window's start and end (epoch ms). */
  readonly from: number;
  readonly to: number;
  /** What callers got (the pool's own calls in windows written without a router). */
  readonly calls: number;
  readonly failed: number;
  /** Calls per second over the window. */
  readonly callsPerS: number;
  /** failed / calls; null without a call. */
  readonly errorRate: number | null;
  /** Latency quantiles of the calls that succeeded; null without one. */
  readonly p50Ms: number | null;
  readonly p99Ms: number | null;
  /** Mean CPU of a worker, and the share of the machine's memory the arm's workers held; null where not sampled. */
  readonly cpuPercent: number | null;
  readonly memoryPercent: number | null;
  /** Nodes whose windows were merged. */
  readonly nodes: number;
}

/**
 * Reads a migration's windows as they are written.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * import { WindowSeries } from "./series.ts";
 * const store = await openStore(":memory:");
 * const series = new WindowSeries(store, "demo");
 * console.log(await series.read()); // []
 * await store.close();
 * ```
 */
export class WindowSeries {
  private readonly rows = new Map<string, Row>();
  private readonly groups = new Map<string, Row[]>();
  private readonly points = new Map<string, DashboardPoint>();
  /** Per pool, the newest timestamp read: the next read starts there (rows of that very time are read again and skipped by key). */
  private readonly since = new Map<string, number>();

  constructor(private readonly store: Store, private readonly migrationId: string) {}

  /** Every point so far, oldest first, V1 before V2 at the same time. */
  async read(): Promise<DashboardPoint[]> {
    const names = new Set(["v1", "v2", ...(await this.store.poolConfigurations.list()).map((c) => c.name)]);
    const touched = new Set<string>();
    for (const name of names) {
      for (const e of await this.store.poolMetrics.range(name, { from: this.since.get(name) ?? 0 })) {
        this.since.set(name, Math.max(this.since.get(name) ?? 0, e.timestamp));
        const key = `${e.poolName}:${e.nodeId}@${e.timestamp}`;
        const w = e.metrics as unknown as NodeWindow;
        if (this.rows.has(key) || w.target !== this.migrationId || (w.arm !== "v1" && w.arm !== "v2")) continue;
        const row: Row = { key, nodeId: e.nodeId, w };
        this.rows.set(key, row);
        const group = `${w.arm}@${w.from}`;
        this.groups.set(group, [...(this.groups.get(group) ?? []), row]);
        touched.add(group);
      }
    }
    for (const group of touched) this.points.set(group, pointOf(this.groups.get(group)!));
    return [...this.points.values()].sort((a, b) => a.from - b.from || a.arm.localeCompare(b.arm));
  }
}

function pointOf(rows: readonly Row[]): DashboardPoint {
  const m = mergeWindows(rows);
  // What callers got when every node's window has it (as the report counts); otherwise every call the pool ran.
  const callers = rows.every((r) => r.w.callers != null) ? rows.map((r) => r.w.callers!) : null;
  const calls = callers === null ? m.calls : callers.reduce((k, c) => k + c.calls, 0);
  const failed = callers === null ? m.errors : callers.reduce((k, c) => k + c.failed, 0);
  const from = rows[0]!.w.from;
  const to = rows.reduce((t, r) => Math.max(t, r.w.to), from);
  const measured = m.calls - m.errors > 0;
  return {
    arm: rows[0]!.w.arm!,
    from,
    to,
    calls,
    failed,
    callsPerS: to > from ? calls / ((to - from) / 1000) : 0,
    errorRate: calls === 0 ? null : failed / calls,
    p50Ms: measured ? m.p50Ms : null,
    p99Ms: measured ? m.p99Ms : null,
    cpuPercent: m.cpuPercent,
    memoryPercent: m.memoryPercent,
    nodes: new Set(rows.map((r) => r.nodeId)).size,
  };
}
