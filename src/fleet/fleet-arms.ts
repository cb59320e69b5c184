/**
 * What a fleet's leader judges: the windows every node wrote for each arm
 * over the judged span, merged — counts added, latency histograms added
 * (exactly: HDR histograms of the same layout), queue waits added, CPU
 * averaged, memory the highest share any node's workers hold — with the
 * nodes that contributed and, when V2 is bad on one node more than on the
 * others, which node that is.
 *
 * @module
 */
import * as hdr from "hdr-histogram-js";
import type { ArmWindow, ShadowWindow } from "../monitor/judge.ts";
import { twoProportionTest } from "../monitor/statistics.ts";
import type { Pool } from "../pool/types.ts";
import type { ArmRead, ArmSource, ArmsReading } from "../rollout/arm-window.ts";
import type { Store } from "../store/store.ts";
import type { PoolMetricsEntry } from "../store/tables/pool-metrics.ts";
import { newHistogram, queueWaitP99, summarise } from "../telemetry/metrics-window.ts";
import type { NodeWindow } from "./node-window.ts";

/** Latencies kept in a merged sample. */
const MERGED_SAMPLE = 1024;
/** How sure a node's V2 error rate must be to be called an outlier against the others' (over all nodes: each is tested at this over their number). */
const OUTLIER_P = 0.01;
/** V2 calls a node needs before its p99 can make it an outlier. */
const OUTLIER_MIN_CALLS = 100;

/** One node's part in a judgement. */
export interface NodeContribution {
  readonly nodeId: string;
  /** Live when judged (its windows count either way: they measured real calls). */
  readonly live: boolean;
  /** Windows it wrote inside the span. */
  readonly windows: number;
  /** Calls in those windows, per arm; V2's errors and p99. */
  readonly v1Calls: number;
  readonly v2Calls: number;
  readonly v2Errors: number;
  readonly v2P99Ms: number;
}

/** One node's window of one arm, as read. */
export interface Row {
  /** `<pool>:<node>@<window start>`: one row per arm, node and window. */
  readonly key: string;
  readonly nodeId: string;
  readonly w: NodeWindow;
}

const BREAKER_RANK: Readonly<Record<string, number>> = { closed: 0, bypassed: 0, halfOpen: 1, isolated: 2, open: 3 };

/** Settings of FleetArms. */
export interface FleetArmsOptions {
  readonly store: Store;
  readonly v1: Pool;
  readonly v2: Pool;
  /** The rollout whose windows are read. */
  readonly target: string;
  /** How far back a judgement looks (ms). */
  readonly spanMs: number;
  readonly noiseFloor: number;
  /** Windows that ended before this (epoch ms) were counted by an earlier leader. */
  readonly countedBefore: number;
}

/** Reads the merged windows of every node of a rollout from the store. */
export class FleetArms implements ArmSource {
  private readonly counted = new Map<string, number>();
  private readonly sums = new RunningSums();

  constructor(private readonly o: FleetArmsOptions) {}

  async read(at: number): Promise<ArmsReading> {
    const from = at - this.o.spanMs;
    const [r1, r2, nodes] = await Promise.all([
      this.o.store.poolMetrics.range(this.o.v1.name, { from }),
      this.o.store.poolMetrics.range(this.o.v2.name, { from }),
      this.o.store.nodes.list(this.o.target),
    ]);
    const rows1 = this.rows(r1);
    const rows2 = this.rows(r2);
    const fresh = (r: Row): boolean => !this.counted.has(r.key) && r.w.to > this.o.countedBefore;
    const new1 = rows1.filter(fresh);
    const new2 = rows2.filter(fresh);
    const live = new Set(nodes.filter((n) => n.live).map((n) => n.nodeId));
    const contributions = contribute(rows1, rows2, live, this.sums);
    this.sums.keep(["v1", "v2", ...contributions.map((c) => `v2:${c.nodeId}`)]);
    const outlier = findOutlier(contributions);
    const shadowRows = rows2.filter((r) => r.w.shadow !== null);
    const shadow: ShadowWindow | null = shadowRows.length === 0 ? null : {
      compared: shadowRows.reduce((n, r) => n + r.w.shadow!.compared, 0),
      mismatched: shadowRows.reduce((n, r) => n + r.w.shadow!.mismatched, 0),
      noiseFloor: this.o.noiseFloor,
    };
    return {
      v1: armRead(this.o.v1, rows1, new1, this.sums.of("v1")),
      v2: armRead(this.o.v2, rows2, new2, this.sums.of("v2")),
      shadow,
      fleet: { spanMs: this.o.spanMs, nodes: contributions, outlier },
      outlier,
      accept: () => {
        for (const r of [...new1, ...new2]) this.counted.set(r.key, r.w.to);
        // What has left the span cannot come back: forget it.
        for (const [key, to] of this.counted) if (to < from) this.counted.delete(key);
      },
    };
  }

  private rows(entries: readonly PoolMetricsEntry[]): Row[] {
    return entries
      .map((e) => ({ key: `${e.poolName}:${e.nodeId}@${e.timestamp}`, nodeId: e.nodeId, w: e.metrics as unknown as NodeWindow }))
      .filter((r) => r.w.target === this.o.target);
  }
}

/** The latency and queue-wait histograms of a set of rows, added. */
export interface Sums {
  readonly latency: hdr.Histogram;
  readonly waits: hdr.Histogram;
}

/** How a merge gets the added histograms of its rows. */
export type Summer = (rows: readonly Row[]) => Sums;

const decode = (text: string): hdr.Histogram | null => (text === "" ? null : hdr.decodeFromCompressedBase64(text, 32));

/** Add the rows' histograms into new ones. */
export const addAll: Summer = (rows) => {
  const latency = newHistogram();
  const waits = newHistogram();
  for (const r of rows) {
    const l = decode(r.w.latencyHistogram);
    const w = decode(r.w.queueWaitHistogram);
    if (l !== null) latency.add(l);
    if (w !== null) waits.add(w);
  }
  return { latency, waits };
};

/**
 * Sums kept between judgements, one per group of rows (an arm, an arm on
 * one node): each judgement adds the windows that entered the span and
 * subtracts those that left it, instead of adding every window again. A row
 * never changes once written, so its histograms are decoded once.
 */
export class RunningSums {
  private readonly groups = new Map<string, { sums: Sums; members: Map<string, { latency: hdr.Histogram | null; waits: hdr.Histogram | null }> }>();

  /** The summer of group `name`. */
  of(name: string): Summer {
    return (rows) => {
      let g = this.groups.get(name);
      if (g === undefined) this.groups.set(name, (g = { sums: { latency: newHistogram(), waits: newHistogram() }, members: new Map() }));
      const keys = new Set(rows.map((r) => r.key));
      for (const [key, m] of g.members) {
        if (keys.has(key)) continue;
        if (m.latency !== null) g.sums.latency.subtract(m.latency);
        if (m.waits !== null) g.sums.waits.subtract(m.waits);
        g.members.delete(key);
      }
      for (const r of rows) {
        if (g.members.has(r.key)) continue;
        const m = { latency: decode(r.w.latencyHistogram), waits: decode(r.w.queueWaitHistogram) };
        if (m.latency !== null) g.sums.latency.add(m.latency);
        if (m.waits !== null) g.sums.waits.add(m.waits);
        g.members.set(r.key, m);
      }
      return g.sums;
    };
  }

  /** Forget every group but these (a node whose windows left the span). */
  keep(names: readonly string[]): void {
    const kept = new Set(names);
    for (const name of this.groups.keys()) if (!kept.has(name)) this.groups.delete(name);
  }
}

/** The arm's windows of every node, merged into what the monitor judges. */
export function mergeWindows(rows: readonly Row[], sum: Summer = addAll): ArmWindow {
  const calls = rows.reduce((n, r) => n + r.w.calls, 0);
  const ok = rows.reduce((n, r) => n + r.w.outcomes.ok, 0);
  const { latency: latencies, waits } = sum(rows);
  const latency = summarise(latencies);
  const p99Wait = queueWaitP99(waits.totalCount === 0 ? null : waits, calls);
  const byNode = groupBy(rows);
  // Each window's sample weighs as much as its calls: a quiet node's window must not count like a busy one's.
  const completed = Math.max(1, rows.reduce((n, r) => n + r.w.calls - r.w.outcomes.rejected, 0));
  const sample = rows.flatMap((r) => {
    const own = r.w.latencySample;
    const k = Math.min(own.length, Math.round((MERGED_SAMPLE * (r.w.calls - r.w.outcomes.rejected)) / completed));
    return Array.from({ length: k }, (_, i) => own[Math.floor((i * own.length) / k)]!);
  });
  const cpu = rows.map((r) => r.w.cpuPercent).filter((c): c is number => c !== null);
  const memory = rows.map((r) => r.w.memoryPercent).filter((m): m is number => m !== null);
  // Folded, not spread: a whole migration's windows are more than a call may take arguments.
  const spanMs = rows.length === 0 ? 0 : rows.reduce((t, r) => Math.max(t, r.w.to), -Infinity) - rows.reduce((t, r) => Math.min(t, r.w.from), Infinity);
  return {
    calls,
    errors: calls - ok,
    windowS: spanMs / 1000,
    p50Ms: latency.p50,
    p90Ms: latency.p90,
    p99Ms: latency.p99,
    latencySample: sample,
    // Workers serving across the fleet: each node's average over its windows, added.
    workers: Math.max(1, [...byNode.values()].reduce((n, rs) => n + rs.reduce((m, r) => m + r.w.workers, 0) / rs.length, 0)),
    crashes: rows.reduce((n, r) => n + r.w.crashes, 0),
    saturated: rows.reduce((n, r) => n + r.w.saturated, 0),
    queued: rows.reduce((n, r) => n + r.w.queued, 0),
    queueWaitP99Ms: p99Wait,
    cpuPercent: cpu.length === 0 ? null : cpu.reduce((a, b) => a + b, 0) / cpu.length,
    memoryPercent: memory.length === 0 ? null : memory.reduce((a, b) => Math.max(a, b), -Infinity),
    rss: steepestSeries(byNode),
  };
}

function groupBy(rows: readonly Row[]): Map<string, Row[]> {
  const out = new Map<string, Row[]>();
  for (const r of rows) out.set(r.nodeId, [...(out.get(r.nodeId) ?? []), r]);
  return out;
}

/**
 * RSS is a series per node and per set of workers: summed across nodes it
 * would jump whenever a node joins. The monitor is given the series that
 * grows fastest, so one leaking node is judged as the leak it is.
 */
function steepestSeries(byNode: ReadonlyMap<string, readonly Row[]>): { at: number; bytes: number }[] {
  let best: { at: number; bytes: number }[] = [];
  let bestSlope = -Infinity;
  for (const rows of byNode.values()) {
    const last = rows.at(-1)!.w.rssOf;
    const series = rows.filter((r) => r.w.rssOf === last).flatMap((r) => r.w.rss);
    if (series.length < 2) continue;
    const slope = (series.at(-1)!.bytes - series[0]!.bytes) / Math.max(1, series.at(-1)!.at - series[0]!.at);
    if (slope > bestSlope) (best = [...series], bestSlope = slope);
  }
  return best;
}

function armRead(pool: Pool, rows: readonly Row[], fresh: readonly Row[], sum: Summer): ArmRead {
  const latest = [...groupBy(rows).values()].map((rs) => rs.at(-1)!.w.breaker);
  const breaker = latest.reduce<string | null>((worst, b) => (b !== null && (worst === null || (BREAKER_RANK[b] ?? 0) > (BREAKER_RANK[worst] ?? 0)) ? b : worst), null);
  const sessions = {
    calls: fresh.reduce((n, r) => n + r.w.sessions.calls, 0),
    moved: fresh.reduce((n, r) => n + r.w.sessions.moved, 0),
    rebound: fresh.reduce((n, r) => n + r.w.sessions.rebound, 0),
  };
  const calls = fresh.reduce((n, r) => n + r.w.calls - r.w.outcomes.rejected, 0);
  return { window: mergeWindows(rows, sum), calls, sessions, seen: { calls: 0, sessions }, affinity: pool.affinity, breaker };
}

function contribute(rows1: readonly Row[], rows2: readonly Row[], live: ReadonlySet<string>, sums: RunningSums): NodeContribution[] {
  const ids = [...new Set([...rows1, ...rows2].map((r) => r.nodeId))].sort();
  return ids.map((nodeId) => {
    const mine1 = rows1.filter((r) => r.nodeId === nodeId);
    const mine2 = rows2.filter((r) => r.nodeId === nodeId);
    const v2 = mergeWindows(mine2, sums.of(`v2:${nodeId}`));
    return {
      nodeId,
      live: live.has(nodeId),
      windows: Math.max(mine1.length, mine2.length),
      v1Calls: mine1.reduce((n, r) => n + r.w.calls, 0),
      v2Calls: v2.calls,
      v2Errors: v2.errors,
      v2P99Ms: v2.p99Ms,
    };
  });
}

/**
 * The node whose V2 fails more than the others' V2, significantly (one-sided
 * exact test against the rest of the fleet, at 0.01 over the number of
 * nodes); else the node with 100 V2 calls or more whose V2 p99 is over twice
 * every other node's. Null with one node, or none such.
 */
export function findOutlier(nodes: readonly NodeContribution[]): string | null {
  if (nodes.length < 2) return null;
  const calls = nodes.reduce((n, x) => n + x.v2Calls, 0);
  const errors = nodes.reduce((n, x) => n + x.v2Errors, 0);
  let worst: { node: NodeContribution; p: number; z: number; rest: number } | null = null;
  for (const node of nodes) {
    const restCalls = calls - node.v2Calls;
    if (node.v2Calls === 0 || restCalls === 0) continue;
    const test = twoProportionTest(errors - node.v2Errors, restCalls, node.v2Errors, node.v2Calls);
    // Bonferroni: with many nodes, one of them is the worst by chance.
    if (test.z > 0 && test.pValue < OUTLIER_P / nodes.length && (worst === null || test.pValue < worst.p)) {
      worst = { node, p: test.pValue, z: test.z, rest: (errors - node.v2Errors) / restCalls };
    }
  }
  if (worst !== null) {
    const n = worst.node;
    return `node ${n.nodeId} is the outlier: V2 error rate ${(n.v2Errors / n.v2Calls).toFixed(4)} over ${n.v2Calls} calls against ${worst.rest.toFixed(4)} on the other nodes (z ${worst.z.toFixed(1)})`;
  }
  for (const node of nodes) {
    const others = nodes.filter((x) => x !== node && x.v2Calls > 0);
    const highest = Math.max(0, ...others.map((x) => x.v2P99Ms));
    if (node.v2Calls >= OUTLIER_MIN_CALLS && others.length > 0 && highest > 0 && node.v2P99Ms > 2 * highest) {
      return `node ${node.nodeId} is the outlier: V2 p99 ${node.v2P99Ms.toFixed(1)} ms against at most ${highest.toFixed(1)} ms on the other nodes`;
    }
  }
  return null;
}
