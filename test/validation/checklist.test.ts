/**
 * Stage checklists from recorded data: each item with its evidence, never a
 * pass without any — "insufficient" or "not_applicable" instead — and a
 * checklist that does not pass holding a stage (and refusing a promotion)
 * when checklists are required.
 */
import { describe, expect, test } from "bun:test";
import { stageChecklist } from "../../mod.ts";
import { rejection } from "../helpers.ts";
import { QUICK_PLAN, rig } from "../rollout/helpers.ts";

const MIN = 60_000;
/** One stage at 50% that lasts: the checklist gathers windows until the test is done. */
const ONE_LONG_STAGE = { ...QUICK_PLAN, stages: [{ weightBp: 5000, minDurationMs: 3_600_000, minSamples: 1 }], failuresToRollback: 5, inconclusiveToPause: 5 };

/**
 * The rig's thresholds, with the absolute latency ceilings (200 ms p99, 100 ms queue wait) far away: the tests of a
 * healthy stage are about the checklist, not speed, and 30 calls at once on two workers passed a 200 ms p99 in CI
 * beside the Node suite.
 */
const UNHURRIED = { minCalls: 20, criticalMinCalls: 10, maxP99Ms: 30_000, maxQueueWaitMs: 30_000 };

const status = (list: Awaited<ReturnType<typeof stageChecklist>>) => Object.fromEntries(list.items.map((i) => [i.item, i.status]));
const evidence = (list: Awaited<ReturnType<typeof stageChecklist>>, item: string) => list.items.find((i) => i.item === item)!.evidence;

/** Windows of traffic at the first stage, `ms` of rollout time apart. */
async function windows(r: Awaited<ReturnType<typeof rig>>, n: number, ms = MIN / 2, calls = 60): Promise<void> {
  for (let i = 0; i < n; i++) {
    await r.traffic(calls);
    r.advance(ms);
    await r.rollout.tick();
  }
}

describe("stage checklists", () => {
  test("a healthy stage passes every item, each with its evidence", async () => {
    const r = await rig("", { plan: ONE_LONG_STAGE, thresholds: UNHURRIED });
    await r.rollout.start();
    // Five minutes of rollout time apart: a worker's RSS moving by a few pages between two samples
    // (more often on a loaded machine) is then far from 10% an hour, so growth is bounded, not left undecided.
    await windows(r, 6, 5 * MIN);
    const list = await stageChecklist(r.store, "rollout", 5000);
    expect(status(list)).toEqual({ error_rate: "pass", latency: "pass", memory_growth: "pass", worker_lifecycle: "pass", breaker: "pass", affinity: "pass", telemetry: "pass" });
    expect([list.windows, list.verdict, list.passed]).toEqual([6, "pass", true]);
    expect(evidence(list, "telemetry")).toMatch(/^every window had V2 calls and a latency sample/);
    expect(evidence(list, "affinity")).toMatch(/^\d+ session calls kept their worker/);
    expect(evidence(list, "memory_growth")).toMatch(/^growth bounded under its limit in \d+ of 6 windows/);
    await r.stop();
  }, 30_000);

  test("no judged window: every item is insufficient, none passes", async () => {
    const r = await rig();
    const list = await stageChecklist(r.store, "rollout", 2500);
    expect(new Set(list.items.map((i) => i.status))).toEqual(new Set(["insufficient"]));
    expect([list.verdict, list.passed]).toEqual(["insufficient", false]);
    expect(list.items[0]!.evidence).toBe("no judged window at this share");
    await r.stop();
  });

  test("growth never judged (no RSS samples) and windows with too few calls are insufficient, not pass", async () => {
    const r = await rig("", { plan: ONE_LONG_STAGE, thresholds: { minCalls: 100, criticalMinCalls: 50 } }, {}, ":memory:", { sampleEveryMs: 0 });
    await r.rollout.start();
    await windows(r, 3, MIN, 40);
    const list = await stageChecklist(r.store, "rollout", 5000);
    expect(status(list)).toMatchObject({ error_rate: "insufficient", latency: "insufficient", memory_growth: "insufficient", worker_lifecycle: "insufficient" });
    expect(evidence(list, "error_rate")).toContain("no window at this share had enough calls to judge");
    expect(evidence(list, "memory_growth")).toContain("growth was never judged");
    expect(list.verdict).toBe("insufficient");
    await r.stop();
  }, 30_000);

  test("a crashing V2 fails the worker lifecycle item", async () => {
    const r = await rig("crash", { plan: ONE_LONG_STAGE });
    await r.rollout.start();
    await windows(r, 2, MIN);
    const list = await stageChecklist(r.store, "rollout", 5000);
    const item = list.items.find((i) => i.item === "worker_lifecycle")!;
    expect(item.status).toBe("fail");
    expect(item.evidence).toContain("failed worker_failure_rate");
    expect(list.verdict).toBe("fail");
    await r.stop();
  }, 30_000);

  test("affinity: sessions that move while their worker still serves fail it; without affinity it does not apply", async () => {
    // One call in flight per worker: a session's second concurrent call finds its worker full and moves.
    const r = await rig("", { plan: ONE_LONG_STAGE }, {}, ":memory:", { capacity: 1, minReady: 2 });
    await r.rollout.start();
    for (let i = 0; i < 3; i++) {
      const sessions = Array.from({ length: 20 }, (_, k) => `sticky-${k}`);
      await Promise.all(sessions.flatMap((s) => [1, 2, 3].map(() => r.router.execute("work", { x: 1 }, { sessionId: s, idempotent: true, timeoutMs: 10_000 }).catch(() => null))));
      r.advance(MIN / 2);
      await r.rollout.tick();
    }
    const moved = await stageChecklist(r.store, "rollout", 5000);
    expect(status(moved).affinity).toBe("fail");
    expect(evidence(moved, "affinity")).toMatch(/^\d+ of \d+ session calls moved to another worker while theirs still served \(affinity "hint" gives way when a worker is full/);
    await r.stop();

    const none = await rig("", { plan: ONE_LONG_STAGE }, {}, ":memory:", { affinity: "none" });
    await none.rollout.start();
    await windows(none, 2);
    expect((await stageChecklist(none.store, "rollout", 5000)).items.find((i) => i.item === "affinity")).toMatchObject({ status: "not_applicable" });
    await none.stop();
  }, 60_000);

  test("breaker: does not apply without one; fails when a window found it open", async () => {
    const r = await rig("", { plan: ONE_LONG_STAGE }, {}, ":memory:", { breaker: false });
    await r.rollout.start();
    await windows(r, 2);
    expect((await stageChecklist(r.store, "rollout", 5000)).items.find((i) => i.item === "breaker")).toMatchObject({ status: "not_applicable", evidence: "V2 (v2) has no breaker" });
    await r.stop();

    // Every call crashes its worker, which counts once against its position: two rounds on the one worker
    // open its breaker, and with it the gate, and the next window finds it open.
    const crashing = await rig("errors", { plan: ONE_LONG_STAGE, thresholds: { criticalMinCalls: 1000, minCalls: 1000 } }, {}, ":memory:", { size: 1, breaker: { consecutiveFailures: 2, halfOpenAfterMs: 3_600_000 } });
    await crashing.rollout.start();
    for (let i = 0; i < 2; i++) {
      await Promise.all(Array.from({ length: 6 }, () => crashing.v2.execute("crash", {}).catch(() => null)));
      crashing.advance(MIN / 2);
      await crashing.rollout.tick();
    }
    const list = await stageChecklist(crashing.store, "rollout", 5000);
    expect(list.items.find((i) => i.item === "breaker")).toMatchObject({ status: "fail", evidence: expect.stringMatching(/^[12] of 2 windows found it not closed/) });
    await crashing.stop();
  }, 60_000);

  test("breaker: windows where the circuit_breaker flag bypassed it say nothing about it", async () => {
    const { openStore } = await import("../../mod.ts");
    const store = await openStore(":memory:");
    const record = (at: number, breaker: string) =>
      store.decisions.record({ rolloutId: "r", at, kind: "judged", stateFrom: "active.stage", stateTo: "active.stage", shareFrom: 500, shareTo: 500, reason: "", inputs: { judgement: { rules: [] }, v2: { calls: 10, breaker } } });
    await record(1, "bypassed");
    await record(2, "bypassed");
    expect((await stageChecklist(store, "r", 500)).items.find((i) => i.item === "breaker")).toMatchObject({ status: "not_applicable", evidence: expect.stringContaining("bypassed") });
    await record(3, "open");
    expect((await stageChecklist(store, "r", 500)).items.find((i) => i.item === "breaker")).toMatchObject({ status: "fail", evidence: expect.stringMatching(/^1 of 1 windows found it not closed/) });
    await store.close();
  });

  test("with checklists required, a stage whose checklist does not pass is held and says why, and promote() is refused", async () => {
    const r = await rig("", { requireChecklist: true });
    await r.rollout.start();
    // A window with no V2 call: the telemetry item fails for this stage.
    await r.rollout.tick();
    for (let i = 0; i < 3; i++) {
      await r.traffic(60);
      r.advance(MIN);
      await r.rollout.tick();
    }
    expect(r.rollout.status()).toMatchObject({ state: "active", stage: 1, shareBp: 5000 });
    const held = (await r.store.decisions.list("rollout")).at(-1)!;
    expect(held.reason).toContain("held: the 50% checklist does not pass (");
    expect(held.reason).toContain("telemetry: 1 of");
    const e = await rejection(r.rollout.promote());
    expect([e._tag, e.message]).toEqual(["RolloutError", expect.stringContaining("with its checklist failing (")]);
    await r.stop();
  }, 30_000);

  test("with checklists required, a stage lacking evidence is held as insufficient, then advances once the evidence is there", async () => {
    const r = await rig("", { requireChecklist: true, thresholds: UNHURRIED, plan: { ...QUICK_PLAN, stages: [{ weightBp: 5000, minDurationMs: 30_000, minSamples: 1 }, { weightBp: 7500, minDurationMs: 3_600_000, minSamples: 1 }] } });
    await r.rollout.start();
    // Two windows: the checklist reads the recorded one, whose memory growth could not be judged yet,
    // so the stage holds though its time is up.
    await windows(r, 2, MIN);
    expect(r.rollout.status()).toMatchObject({ stage: 1, shareBp: 5000 });
    const held = (await r.store.decisions.list("rollout")).at(-1)!;
    expect(held.reason).toContain("memory_growth: insufficient evidence, growth was never judged");
    await windows(r, 6, MIN);
    expect(r.rollout.status()).toMatchObject({ stage: 2, shareBp: 7500 });
    await r.stop();
  }, 60_000);
});
