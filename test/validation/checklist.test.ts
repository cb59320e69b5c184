/**
 * Stage checklists from recorded data: each item with its evidence, and a
 * failing checklist holding a stage (and refusing a promotion) when
 * checklists are required.
 */
import { describe, expect, test } from "bun:test";
import { stageChecklist } from "../../mod.ts";
import { rejection } from "../helpers.ts";
import { rig } from "../rollout/helpers.ts";

const MIN = 60_000;

describe("stage checklists", () => {
  test("a healthy stage passes every item, each with its evidence", async () => {
    const r = await rig();
    await r.rollout.start();
    for (let i = 0; i < 2; i++) {
      await r.traffic(60);
      r.advance(MIN / 2);
      await r.rollout.tick();
    }
    const list = await stageChecklist(r.store, "rollout", 5000);
    expect(list.items.map((i) => [i.item, i.status])).toEqual([
      ["error_rate", "pass"], ["latency", "pass"], ["memory_growth", "pass"], ["worker_lifecycle", "pass"], ["breaker", "pass"], ["affinity", "pass"], ["telemetry", "pass"],
    ]);
    expect(list.windows).toBe(2);
    expect(list.items.find((i) => i.item === "telemetry")!.evidence).toMatch(/^every window had V2 calls and a latency sample/);
    expect((await stageChecklist(r.store, "rollout", 2500)).items[0]!.evidence).toBe("no judged window at this share");
    await r.stop();
  }, 30_000);

  test("a crashing V2 fails the worker lifecycle item", async () => {
    const r = await rig("crash", { plan: { shadowMs: 0, stages: [{ weightBp: 5000, minDurationMs: 3_600_000, minSamples: 1 }], failuresToRollback: 5, inconclusiveToPause: 5, cooldownMs: 0 } });
    await r.rollout.start();
    for (let i = 0; i < 2; i++) {
      await r.traffic(60);
      r.advance(MIN);
      await r.rollout.tick();
    }
    const item = (await stageChecklist(r.store, "rollout", 5000)).items.find((i) => i.item === "worker_lifecycle")!;
    expect(item.status).toBe("fail");
    expect(item.evidence).toContain("failed worker_failure_rate");
    await r.stop();
  }, 30_000);

  test("with checklists required, a stage whose checklist fails is held, and promote() is refused", async () => {
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
    expect(held.reason).toContain("held: the 50% checklist fails (telemetry: 1 of");
    const e = await rejection(r.rollout.promote());
    expect([e._tag, e.message]).toEqual(["RolloutError", expect.stringContaining("with its checklist failing (telemetry:")]);
    await r.stop();
  }, 30_000);
});
