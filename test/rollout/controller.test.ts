/**
 * The rollout controller on real pools: a healthy V2 is promoted stage by
 * stage; each rollback rule fires on a V2 whose handler injects that fault;
 * healthy arms never fail over many windows; too little traffic holds; every
 * decision is recorded with its inputs.
 */
import { describe, expect, test } from "bun:test";
import { rejection } from "../helpers.ts";
import { QUICK_PLAN, rig } from "./helpers.ts";

const MIN = 60_000;

describe("rollout controller", () => {
  test("a healthy V2 goes through every stage to 100%, and every decision is recorded", async () => {
    const r = await rig();
    await r.rollout.start();
    // No shadow phase in this plan: the first stage starts at once.
    expect(r.rollout.status()).toMatchObject({ state: "active", detail: "active.stage", stage: 1, shareBp: 5000 });
    expect([r.flags.get("pool_v2_enabled"), r.flags.share()]).toEqual([true, 5000]);
    await r.traffic(60);
    await r.rollout.tick();
    expect(r.rollout.status().stage).toBe(1);
    for (const share of [5000, 7500]) {
      r.advance(MIN);
      await r.traffic(80);
      await r.rollout.tick();
      expect(r.flags.share()).toBe(share === 5000 ? 7500 : 10_000);
    }
    expect(r.rollout.status()).toMatchObject({ state: "promoted", shareBp: 10_000 });
    const decisions = await r.store.decisions.list("rollout");
    expect(decisions.map((d) => [d.kind, d.shareTo])).toEqual([["started", 5000], ["judged", 5000], ["advanced", 7500], ["promoted", 10_000]]);
    const inputs = decisions[2]!.inputs as { judgement: { verdict: string; rules: unknown[] }; thresholds: { maxErrorRate: number }; v2: { calls: number } };
    expect(inputs.judgement.verdict).toBe("pass");
    expect(inputs.judgement.rules.length).toBeGreaterThan(5);
    expect(inputs.thresholds.maxErrorRate).toBe(0.05);
    expect(inputs.v2.calls).toBeGreaterThan(0);
    await r.stop();
  }, 30_000);

  test("too little traffic holds the stage, however long, and is never a failure", async () => {
    const r = await rig("errors", { thresholds: { minCalls: 100, criticalMinCalls: 50 } });
    await r.rollout.start();
    for (let i = 0; i < 10; i++) {
      await r.traffic(4);
      r.advance(10 * MIN);
      expect((await r.rollout.tick()).verdict).toBe("insufficient_data");
    }
    expect(r.rollout.status()).toMatchObject({ state: "active", stage: 1 });
    expect((await r.store.decisions.list("rollout")).slice(1).every((d) => d.kind === "judged")).toBe(true);
    await r.stop();
  }, 30_000);

  // [fault, rule that must fail, critical?, calls per window]; a crash fails the calls in flight with it, so it may be critical too.
  const LONG_STAGE = { ...QUICK_PLAN, stages: [{ weightBp: 5000, minDurationMs: 3_600_000, minSamples: 20 }] };
  const NO_LATENCY = { p99Ratio: 1000, maxP99Ms: 60_000 };

  test("healthy arms: no rule fires over 30 windows, and memory growth is judged (and passes) from the second minute on", async () => {
    const r = await rig("", { plan: { shadowMs: 0, stages: [{ weightBp: 5000, minDurationMs: 1e9, minSamples: 1 }], failuresToRollback: 1, inconclusiveToPause: 1, cooldownMs: 0 } });
    await r.rollout.start();
    const unhealthy: string[] = [];
    const growth: string[] = [];
    for (let i = 0; i < 30; i++) {
      await r.traffic(50);
      r.advance(MIN);
      const j = await r.rollout.tick();
      if (j.verdict === "fail" || j.verdict === "inconclusive") unhealthy.push(`${j.verdict}: ${j.reasons.join("; ")}`);
      growth.push(j.rules.find((x) => x.rule === "memory_growth_per_hour")!.status);
    }
    expect(unhealthy).toEqual([]);
    expect(r.rollout.status().state).toBe("active");
    // A steady V2's growth is bounded under the limit once its samples span enough time (and stay bounded).
    expect(growth.slice(10)).toEqual(Array(20).fill("pass"));
    await r.stop();
  }, 90_000);

  test("a V2 leaking several MB a second is rolled back within a minute of rollout time", async () => {
    const r = await rig("grow", { plan: LONG_STAGE, thresholds: { minCalls: 20, criticalMinCalls: 10, ...NO_LATENCY } });
    await r.rollout.start();
    const started = r.now();
    // 40 calls every 5 s, half on V2, each holding 1 MB there: 4 MB a second.
    for (let i = 0; i < 12 && r.rollout.status().state === "active"; i++) {
      await r.traffic(40);
      r.advance(5_000);
      await r.rollout.tick();
    }
    expect(r.rollout.status().state).toBe("rolledBack");
    const back = (await r.store.decisions.list("rollout")).find((d) => d.kind === "rolling_back")!;
    expect(back.reason).toContain("memory_growth_per_hour fail");
    expect(back.at - started).toBeLessThanOrEqual(60_000);
    await r.stop();
  }, 60_000);

  // [fault, rule that must fire, critical?, calls per window, thresholds relaxed (or tightened) so that
  // this rule is the one that fires, plan]. A crash fails the calls in flight with it, so it may be critical too.
  // One long stage: a fault that takes a few windows to show must not race the rollout to 100%.
  const faults: [string, string, boolean | null, number, Record<string, number>, typeof QUICK_PLAN][] = [
    ["errors", "v2_error_rate_critical", true, 60, {}, LONG_STAGE],
    ["slow", "v2_p99_ms", false, 24, {}, LONG_STAGE],
    ["slow", "p99_vs_v1", false, 24, { maxP99Ms: 60_000, minLatencySample: 20 }, LONG_STAGE],
    ["crash", "worker_failure_rate", null, 60, {}, LONG_STAGE],
    ["some_errors", "error_rate_vs_v1", false, 400, { maxErrorRate: 0.5 }, LONG_STAGE],
    ["grow", "memory_growth_per_hour", false, 40, NO_LATENCY, LONG_STAGE],
    // Memory as a share of this machine's (24 GiB here): the limit is lowered to what 1 MB per call reaches.
    ["grow", "v2_memory_percent", false, 40, { ...NO_LATENCY, minGrowthSpanMs: 1e12, maxMemoryPercent: 0.3 }, LONG_STAGE],
    // CPU is measured over periods of a second or more, so the stage lasts long enough to see one; the limit
    // is lowered so that a machine loaded by other work still shows it (healthy workers here use a few percent).
    // On such a machine the busy calls also queue for a worker: that rule is relaxed too.
    ["busy", "v2_cpu_percent", false, 60, { ...NO_LATENCY, maxCpuPercent: 25, maxQueueWaitMs: 60_000 }, LONG_STAGE],
  ];
  for (const [fault, ruleName, critical, calls, relaxed, plan] of faults) {
    test(`rule ${ruleName} rolls back a V2 whose handler injects "${fault}"`, async () => {
      const r = await rig(fault, { plan, thresholds: { minCalls: 20, criticalMinCalls: 10, ...relaxed } });
      await r.rollout.start();
      // Up to 12 windows: memory growth takes one RSS point per window and fails only when the later half of the
      // points grows too, which 4 points (8 windows) showed too loosely to tell once in a few runs.
      for (let i = 0; i < 12 && r.rollout.status().state === "active"; i++) {
        await r.traffic(calls);
        r.advance(MIN);
        await r.rollout.tick();
      }
      const status = r.rollout.status();
      expect([status.state, status.shareBp, r.flags.share()]).toEqual(["rolledBack", 0, 0]);
      const failed = status.lastJudgement!.rules.filter((x) => x.status === "fail").map((x) => x.rule);
      expect(failed).toContain(ruleName);
      if (critical !== null) expect(status.lastJudgement!.critical).toBe(critical);
      const kinds = (await r.store.decisions.list("rollout")).map((d) => d.kind);
      expect(kinds).toContain("rolling_back");
      expect(kinds.at(-1)).toBe("rolled_back");
      await r.stop();
    }, 60_000);
  }

  test("a V2 that refuses calls for want of a worker rolls back on v2_saturation_rate", async () => {
    // One call in flight per worker and a queue of one: a burst of 60 calls is mostly refused (and falls back to V1).
    const errorsRelaxed = { criticalErrorRate: 0.99, maxErrorRate: 0.99, errorRatio: 1000 };
    const r = await rig("busy", { plan: LONG_STAGE, thresholds: { minCalls: 20, criticalMinCalls: 10, maxCpuPercent: 1e6, ...NO_LATENCY, ...errorsRelaxed } }, {}, ":memory:", { capacity: 1, maxQueue: 1, minReady: 2 });
    await r.rollout.start();
    for (let i = 0; i < 6 && r.rollout.status().state === "active"; i++) {
      await r.traffic(60);
      r.advance(MIN);
      await r.rollout.tick();
    }
    expect(r.rollout.status().state).toBe("rolledBack");
    expect(r.rollout.status().lastJudgement!.rules.filter((x) => x.status === "fail").map((x) => x.rule)).toContain("v2_saturation_rate");
    expect(r.v2.metrics().saturated).toBeGreaterThan(0);
    await r.stop();
  }, 60_000);

  test('a shadow mismatch rate above the noise floor rolls back (V2 answers "differ")', async () => {
    const r = await rig("differ", {}, { shadow: { sampleRate: 1, commands: ["work"] } });
    await r.rollout.start();
    for (let i = 0; i < 6 && r.rollout.status().state === "active"; i++) {
      await r.traffic(60);
      await r.router.close();
      r.advance(MIN);
      await r.rollout.tick();
    }
    expect(r.rollout.status().state).toBe("rolledBack");
    expect(r.rollout.status().lastJudgement!.rules.find((x) => x.rule === "shadow_mismatch_rate")!.status).toBe("fail");
    await r.stop();
  }, 60_000);

  test("options are validated", async () => {
    const r = await rig();
    const { createRolloutController } = await import("../../mod.ts");
    const base = { v1: r.v1, v2: r.v2, flags: r.flags, store: r.store };
    const bad = await rejection(createRolloutController({ ...base, rolloutId: "x", plan: { stages: [{ weightBp: 500, minDurationMs: 1, minSamples: 1 }, { weightBp: 400, minDurationMs: 1, minSamples: 1 }] } }));
    expect(bad.message).toBe("rollout: plan.stages[1].weightBp must be an integer above the previous stage's (500) and at most 10000, received 400");
    expect((await rejection(createRolloutController({ ...base, rolloutId: "x", thresholds: { alpha: 2 } }))).option).toBe("thresholds.alpha");
    expect((await rejection(createRolloutController({ ...base, rolloutId: "bad id!" }))).option).toBe("rolloutId");
    await r.stop();
  });
});
