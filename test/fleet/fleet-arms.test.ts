/**
 * The leader's merge of every node's windows: counts add up, latency
 * histograms merge exactly (the merged quantiles are those of one histogram
 * of every call), no window means insufficient evidence, a window is counted
 * toward a stage's samples once, and the outlier is named only when one node
 * is significantly worse.
 */
import { describe, expect, test } from "bun:test";
import * as hdr from "hdr-histogram-js";
import { createPool, findOutlier, judge, type NodeContribution, openStore } from "../../mod.ts";
import { FleetArms, mergeWindows, type Row, RunningSums } from "../../src/fleet/fleet-arms.ts";
import type { NodeWindow } from "../../src/fleet/node-window.ts";
import { newHistogram, summarise } from "../../src/telemetry/metrics-window.ts";
import { fixture, lcg } from "../helpers.ts";

function windowOf(from: number, latencies: readonly number[], errors = 0): NodeWindow {
  const h = newHistogram();
  for (const ms of latencies) h.recordValue(Math.round(ms * 1000));
  const calls = latencies.length;
  return {
    from, to: from + 1000, calls, outcomes: { ok: calls - errors, python_error: errors, failed: 0, rejected: 0 }, categories: {}, tags: {}, crashes: 0, restarts: 0,
    saturated: 0, queued: 0, latencyHistogram: calls === 0 ? "" : hdr.encodeIntoCompressedBase64(h), queueWaitHistogram: "", latencySample: latencies.slice(0, 128),
    target: "r", workers: 1, cpuPercent: null, memoryPercent: null, rss: [], rssOf: "", sessions: { calls: 0, moved: 0, rebound: 0 }, affinity: "none", breaker: "closed", shadow: null,
  };
}

describe("merging the windows of a fleet", () => {
  test("counts add up and latency quantiles are exactly those of every call in one histogram", () => {
    const random = lcg(3);
    const all = newHistogram();
    const rows: Row[] = [];
    for (let n = 0; n < 5; n++) {
      const latencies = Array.from({ length: 200 + n * 50 }, () => 1 + random() * (n === 4 ? 400 : 20));
      for (const ms of latencies) all.recordValue(Math.round(ms * 1000));
      rows.push({ key: `v2:n${n}@0`, nodeId: `n${n}`, w: windowOf(0, latencies, n) });
    }
    const merged = mergeWindows(rows);
    const exact = summarise(all);
    expect(merged.calls).toBe(200 + 250 + 300 + 350 + 400);
    expect(merged.errors).toBe(0 + 1 + 2 + 3 + 4);
    expect([merged.p50Ms, merged.p90Ms, merged.p99Ms]).toEqual([exact.p50, exact.p90, exact.p99]);
    expect(merged.workers).toBe(5);
  });

  test("the outlier is the node whose V2 fails significantly more than the others'; none when all fail alike or one node alone", () => {
    const node = (nodeId: string, v2Calls: number, v2Errors: number, v2P99Ms = 10): NodeContribution => ({ nodeId, live: true, windows: 4, v1Calls: v2Calls, v2Calls, v2Errors, v2P99Ms });
    expect(findOutlier([node("a", 400, 2), node("b", 400, 3), node("c", 400, 120)])).toContain("node c is the outlier: V2 error rate 0.3000");
    expect(findOutlier([node("a", 400, 40), node("b", 400, 44), node("c", 400, 38)])).toBeNull();
    // A few errors on a small node are not significant.
    expect(findOutlier([node("a", 400, 0), node("b", 400, 0), node("c", 10, 1)])).toBeNull();
    expect(findOutlier([node("a", 400, 300)])).toBeNull();
    expect(findOutlier([node("a", 400, 0, 10), node("b", 400, 0, 12), node("c", 400, 0, 90)])).toContain("node c is the outlier: V2 p99 90.0 ms");
    // One slow call on a quiet node is not an outlier.
    expect(findOutlier([node("a", 400, 0, 10), node("b", 400, 0, 12), node("c", 20, 0, 90)])).toBeNull();
  });

  test("a healthy fleet of 20 nodes is not given an outlier by chance (the test corrects for the number of nodes)", () => {
    // mulberry32: the test's errors must be independent, which the test suite's LCG (in floating point) does not quite give.
    let seed = 5;
    const random = (): number => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    let named = 0;
    for (let fleet = 0; fleet < 100; fleet++) {
      const nodes = Array.from({ length: 20 }, (_, i) => {
        let errors = 0;
        for (let c = 0; c < 1000; c++) if (random() < 0.01) errors++;
        return { nodeId: `n${i}`, live: true, windows: 4, v1Calls: 1000, v2Calls: 1000, v2Errors: errors, v2P99Ms: 10 };
      });
      if (findOutlier(nodes) !== null) named++;
    }
    // At 0.01 per node without the correction, about one fleet in six would name one.
    expect(named).toBeLessThanOrEqual(3);
  });

  test("no window from any node is insufficient evidence, never a pass; each window counts toward the stage once", async () => {
    const store = await openStore(":memory:");
    const common = { handler: fixture("echo_handler.py"), size: 1, heartbeatMs: 0 };
    const [v1, v2] = await Promise.all([createPool({ name: "v1", strategy: "basic", ...common }), createPool({ name: "v2", ...common })]);
    const now = Date.now();
    const arms = new FleetArms({ store, v1, v2, target: "r", spanMs: 10_000, noiseFloor: 0, countedBefore: 0 });
    const empty = await arms.read(now);
    expect(judge({ v1: empty.v1.window, v2: empty.v2.window }).verdict).toBe("insufficient_data");
    for (const [n, pool] of [["a", "v1"], ["a", "v2"], ["b", "v1"], ["b", "v2"]] as const) {
      await store.poolMetrics.record({ poolName: pool, nodeId: n, timestamp: now - 2000, metrics: windowOf(now - 2000, Array.from({ length: 150 }, () => 5)) as never });
    }
    const first = await arms.read(now);
    expect([first.v1.calls, first.v2.calls, first.v2.window.calls]).toEqual([300, 300, 300]);
    expect(judge({ v1: first.v1.window, v2: first.v2.window }).verdict).not.toBe("insufficient_data");
    first.accept();
    const again = await arms.read(now);
    // The same windows are still judged (they are inside the span), but their calls were counted already.
    expect([again.v2.calls, again.v2.window.calls]).toEqual([0, 300]);
    // Another rollout's windows are not this one's.
    await store.poolMetrics.record({ poolName: "v2", nodeId: "c", timestamp: now - 1000, metrics: { ...windowOf(now - 1000, [5, 5]), target: "other" } as never });
    expect((await arms.read(now)).v2.window.calls).toBe(300);
    await Promise.all([v1.stop(), v2.stop()]);
    await store.close();
  });
});

test("running sums: windows entering the span are added, those leaving it subtracted; the quantiles stay exactly those of a fresh merge", () => {
  const random = lcg(11);
  const rows: Row[] = Array.from({ length: 12 }, (_, i) => ({
    key: `v2:n${i % 3}@${i}`,
    nodeId: `n${i % 3}`,
    w: windowOf(i * 1000, Array.from({ length: 50 + i * 10 }, () => 1 + random() * (i > 8 ? 300 : 20))),
  }));
  const sums = new RunningSums();
  for (const [from, to] of [[0, 6], [2, 9], [5, 12], [11, 12], [0, 12]]) {
    const span = rows.slice(from, to);
    const running = mergeWindows(span, sums.of("v2"));
    const fresh = mergeWindows(span);
    expect([running.calls, running.p50Ms, running.p90Ms, running.p99Ms]).toEqual([fresh.calls, fresh.p50Ms, fresh.p90Ms, fresh.p99Ms]);
  }
});
