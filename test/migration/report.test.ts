/**
 * The report's customer impact and whole-rollout comparison, checked
 * against windows whose calls the test wrote itself: totals per arm, failed
 * calls by tag, fallbacks, V2's excess failures, and nothing printed as ∞
 * or with sixteen digits.
 */
import { describe, expect, test } from "bun:test";
import * as hdr from "hdr-histogram-js";
import { migrationReport, openStore, readMigrationRecord } from "../../mod.ts";
import type { NodeWindow } from "../../src/fleet/node-window.ts";
import { newHistogram } from "../../src/telemetry/metrics-window.ts";
import { poissonInterval } from "../../src/monitor/statistics.ts";
import { rejection } from "../helpers.ts";

function window(arm: "v1" | "v2", from: number, calls: number, failed: Record<string, number>, latencyMs: number, fallbacks: number | null): NodeWindow {
  const h = newHistogram();
  const errors = Object.values(failed).reduce((a, b) => a + b, 0);
  for (let i = 0; i < calls - errors; i++) h.recordValue(latencyMs * 1000);
  return {
    from, to: from + 10_000, calls, outcomes: { ok: calls - errors, python_error: errors, failed: 0, rejected: 0 }, categories: {}, tags: failed, crashes: 0, restarts: 0,
    saturated: 0, queued: 0, latencyHistogram: hdr.encodeIntoCompressedBase64(h), queueWaitHistogram: "", latencySample: [],
    target: "m1", arm, workers: 2, cpuPercent: 20, memoryPercent: 1.5, rss: [], rssOf: "", sessions: { calls: 0, moved: 0, rebound: 0 }, affinity: "none", breaker: "closed",
    shadow: null, fallbacks,
  };
}

describe("the report's options", () => {
  test("a format or time it cannot write is refused, naming the option, the value and what is allowed", async () => {
    const store = await openStore(":memory:");
    for (const [options, message] of [
      [{ format: "pdf" }, 'migrationReport: format must be one of "md", "json", "html", received "pdf"'],
      [{ now: Number.NaN }, "migrationReport: now must be a non-negative integer (epoch ms), received NaN"],
      [{ colour: true }, "migrationReport: colour must be one of the known options (format, now), received true"],
      [42, "migrationReport: options must be an object, received 42"],
    ] as const) {
      const e = await rejection(migrationReport(store, "m1", options as never));
      expect([e._tag, e.message]).toEqual(["ConfigError", expect.stringContaining(message)]);
    }
    await store.close();
  });
});

test("the record lists the shadow mismatches of its own migration, not another's in the same store", async () => {
  const store = await openStore(":memory:");
  await store.shadowMismatches.record({ command: "echo", servingArm: "v1", shadowArm: "v2", serving: 1, shadow: 2, at: 10, rolloutId: "m1" });
  await store.shadowMismatches.record({ command: "echo", servingArm: "v1", shadowArm: "v2", serving: 3, shadow: 4, at: 20, rolloutId: "m0" });
  await store.shadowMismatches.record({ command: "echo", servingArm: "v1", shadowArm: "v2", serving: 5, shadow: 6, at: 30 });
  expect((await readMigrationRecord(store, "m1")).mismatches.map((m) => m.shadow)).toEqual([2]);
  await store.close();
});

describe("the report's customer impact", () => {
  test("each quantile's interval comes from the order statistics of every call: 1000 calls of 1 to 1000 ms give p50 469 to 531 ms", async () => {
    const store = await openStore(":memory:");
    for (const arm of ["v1", "v2"] as const) {
      const w = window(arm, 1_800_000_000_000, 1000, {}, 1, 0);
      const h = newHistogram();
      for (let ms = 1; ms <= 1000; ms++) h.recordValue(ms * 1000);
      await store.poolMetrics.record({ poolName: arm, nodeId: "a", timestamp: w.from, metrics: { ...w, latencyHistogram: hdr.encodeIntoCompressedBase64(h) } as never });
    }
    const { impact } = await readMigrationRecord(store, "m1");
    const [low, high] = impact!.v1.intervals.p50Ms!;
    expect([Math.round(low), Math.round(high)]).toEqual([expect.closeTo(469, -1), expect.closeTo(531, -1)]);
    expect(impact!.v1.p50Ms!).toBeGreaterThan(low);
    expect(impact!.v1.p50Ms!).toBeLessThan(high);
    // The p99's interval is wider above than below: fewer calls out there.
    const [l99, h99] = impact!.v1.intervals.p99Ms!;
    expect([l99 < impact!.v1.p99Ms!, h99 >= impact!.v1.p99Ms!, h99 <= 1001]).toEqual([true, true, true]);
    // The exact Poisson interval (Garwood), checked against its tables: 0 → [0, 3.689], 10 → [4.795, 18.39].
    expect(poissonInterval(0).map((x) => Number(x.toFixed(3)))).toEqual([0, 3.689]);
    expect(poissonInterval(10).map((x) => Number(x.toFixed(2)))).toEqual([4.8, 18.39]);
    // One window each: no interval of a mean over windows.
    expect([impact!.v1.intervals.cpuPercent, impact!.v1.intervals.memoryPercent]).toEqual([null, null]);
    // Two windows at 10% and 30% CPU: the mean 20% ± t(0.975, 1) · 14.14 / √2 = ± 127 (Student's t, not 1.96).
    for (const [i, cpu] of [[1, 10], [2, 30]] as const) {
      const w = window("v2", 1_900_000_000_000 + i * 10_000, 10, {}, 1, 0);
      await store.poolMetrics.record({ poolName: "v2", nodeId: "b", timestamp: w.from, metrics: { ...w, target: "m2", cpuPercent: cpu } as never });
    }
    const two = (await readMigrationRecord(store, "m2")).impact!.v2;
    expect([two.cpuPercent, two.intervals.cpuPercent!.map((x) => Math.round(x))]).toEqual([20, [0, 147]]);
    await store.close();
  });

  test("per-arm totals, failures by tag, fallbacks and V2's excess failures are those of the recorded windows", async () => {
    const store = await openStore(":memory:");
    // Six windows per arm on two nodes: V1 1000 calls with 10 failures, V2 400 with 24 (20 PythonError, 4 WorkerTimeoutError).
    for (let i = 0; i < 6; i++) {
      const from = 1_800_000_000_000 + i * 10_000;
      const node = i % 2 === 0 ? "a" : "b";
      await store.poolMetrics.record({ poolName: "v1", nodeId: node, timestamp: from, metrics: window("v1", from, i < 4 ? 150 : 200, i < 2 ? { PythonError: 5 } : {}, 10, null) as never });
      await store.poolMetrics.record({ poolName: "v2", nodeId: node, timestamp: from, metrics: window("v2", from, i < 4 ? 60 : 80, i < 4 ? { PythonError: 5 } : { WorkerTimeoutError: 2 }, 8, i === 5 ? 3 : 0) as never });
    }
    // Another migration's window: not counted.
    await store.poolMetrics.record({ poolName: "v2", nodeId: "a", timestamp: 1, metrics: { ...window("v2", 1, 999, { PythonError: 999 }, 8, 0), target: "other" } as never });
    const report = await migrationReport(store, "m1");
    expect(report).toContain("12 windows from 2 node(s)");
    expect(report).toContain("| V1 | 1000 | 10 | 1% (0.544% to 1.83%) | PythonError 10 |");
    expect(report).toContain("| V2 | 400 | 24 | 6% (4.06% to 8.77%) | PythonError 20, WorkerTimeoutError 4 |");
    expect(report).toContain("Calls bound for V2 that V1 served (fallbacks): 3.");
    // 24 - 400 × 1% = 20 beyond V1's rate, significantly so.
    expect(report).toMatch(/V2 failures beyond what V1's error rate predicts for V2's calls: 20 \(95% interval \d+ to \d+\): V2 failed callers more than V1 would have\./);
    // Quantiles come from the histograms, exact to their two significant digits.
    expect(report).toMatch(/\| p50 \| 10 ms \(10 ms to 10 ms\) \| 8\.0\d ms \(8\.0\d ms to 8\.0\d ms\) \| -20\.\d% \|/);
    // 990 succeeded V1 calls over the 60 s the windows span: 16.5/s, its exact Poisson interval 929.5 to 1053.6 calls.
    expect(report).toContain("| throughput (succeeded calls/s) | 16.5 (15.5 to 17.6) |");
    expect(report).not.toMatch(/∞|\d\.\d{6,}/);
    // No judgement and no fault validation: those criteria are not measured, never met; V2 failed callers more than V1 would have.
    expect(report).toContain("| zero customer impact | not met | V2's failures beyond V1's rate: 20");
    expect(report).toMatch(/\| performance improved \| met \| p99 over the whole rollout: V1 10 ms, V2 8\.0\d ms \|/);
    expect(report).toContain("| error handling enhanced | not measured |");
    expect(report).toContain("| monitoring comprehensive | not measured | no window was judged |");
    expect(report).toContain("| team trained | not measured |");
    await store.close();
  });

  test("lessons and recommendations cite the record: held stages, inconclusive streaks, rules near their threshold, interventions, rollbacks, failed validations", async () => {
    let clock = 0;
    const store = await openStore(":memory:", { now: () => clock });
    const judged = (at: number, verdict: string, shareTo: number, rules: unknown[] = []) =>
      store.decisions.record({ rolloutId: "m1", at, kind: "judged", stateFrom: "active.stage", stateTo: "active.stage", shareFrom: shareTo, shareTo, reason: verdict, inputs: { judgement: { verdict, rules } } as never });
    await judged(1, "insufficient_data", 500);
    await judged(2, "insufficient_data", 500);
    for (const at of [3, 4, 5]) await judged(at, "inconclusive", 1000);
    await judged(6, "pass", 1000, [{ rule: "v2_p99_ms", status: "pass", value: 900, threshold: 1000 }, { rule: "v2_error_rate", status: "pass", value: 0.001, threshold: 0.05 }]);
    // Asked for at 6.5 s, applied at 7 s; resumed 40 minutes later.
    clock = 6_500;
    const paused = await store.commands.enqueue({ target: "m1", command: "pause", args: { reason: "lunch" }, requestedBy: "ana" });
    await store.commands.complete(paused, "applied", {});
    // A command refused explains nothing.
    await store.commands.complete(await store.commands.enqueue({ target: "m1", command: "pause", requestedBy: "bob" }), "failed", {});
    await store.decisions.record({ rolloutId: "m1", at: 7_000, kind: "operator.pause", stateFrom: "active.stage", stateTo: "paused", shareFrom: 1000, shareTo: 1000, reason: "lunch", inputs: {} });
    await store.decisions.record({ rolloutId: "m1", at: 7_000 + 40 * 60_000, kind: "operator.resume", stateFrom: "paused", stateTo: "active.stage", shareFrom: 1000, shareTo: 1000, reason: "operator resume", inputs: {} });
    await store.decisions.record({ rolloutId: "m1", at: 8_000 + 40 * 60_000, kind: "rolled_back", stateFrom: "rollingBack", stateTo: "rolledBack", shareFrom: 1000, shareTo: 0, reason: "v2_error_rate fail", inputs: {} });
    await store.validations.record({ target: "m1", kind: "faults", verdict: "fail", report: { reasons: ["crash: 3 calls lost on V2"] } });
    await store.validations.record({ target: "m1", kind: "training", verdict: "pass", report: {} });
    await store.validations.record({ target: "m1", kind: "training", verdict: "fail", report: {} });
    const report = await migrationReport(store, "m1");
    expect(report).toContain("The stage at 5% was held for insufficient data in 2 judgement(s)");
    expect(report).toContain("Judgements were inconclusive up to 3 in a row");
    expect(report).toContain("Rule v2_p99_ms passed within 20% of its threshold (900 against 1000)");
    expect(report).not.toContain("Rule v2_error_rate passed within");
    expect(report).toContain("An operator intervened (operator.pause at 1970-01-01T00:00:07.000Z): lunch (requested by ana and applied 0.5 s later; paused for 40.0 min until operator.resume).");
    expect(report).toContain("The rollout was rolled back at 1970-01-01T00:40:08.000Z: v2_error_rate fail.");
    expect(report).toMatch(/Validation \(faults, .*\) failed: crash: 3 calls lost on V2; fix what it found/);
    expect(report).toContain("| team trained | not met | 1 of 2 recorded training exercise(s) passed |");
    expect(report).toContain("| error handling enhanced | not met | the last fault validation: fail |");
    expect(report).toContain("| monitoring comprehensive | not met | 6 judgements recorded");
    await store.close();
  });
});
