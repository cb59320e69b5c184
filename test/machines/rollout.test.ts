/**
 * The rollout machine, driven by timestamped events only: stages advance on
 * time, samples and a passing judgement; pauses do not count; failures roll
 * back (a critical one at once); inconclusive judgements pause; a rollback
 * cools down before the next start.
 */
import { describe, expect, test } from "bun:test";
import { createActor } from "xstate";
import { DEFAULT_PLAN, type RolloutPlan, rolloutMachine, rolloutState, shareOf } from "../../machines/mod.ts";

const MIN = 60_000;
const plan: RolloutPlan = {
  shadowMs: 5 * MIN,
  stages: [
    { weightBp: 500, minDurationMs: 10 * MIN, minSamples: 100 },
    { weightBp: 2500, minDurationMs: 10 * MIN, minSamples: 100 },
  ],
  failuresToRollback: 2,
  inconclusiveToPause: 3,
  cooldownMs: 30 * MIN,
};

function rollout(p: RolloutPlan = plan) {
  const actor = createActor(rolloutMachine, { input: { rolloutId: "r1", plan: p } }).start();
  const judge = (now: number, verdict: "pass" | "fail" | "inconclusive" | "insufficient_data" = "pass", calls = 60, critical = false) =>
    actor.send({ type: "window.judged", now, verdict, critical, v1Calls: calls, v2Calls: calls, reason: `${verdict} at ${now}` });
  const view = () => {
    const s = actor.getSnapshot();
    return { state: rolloutState(s), stage: s.context.stage, share: shareOf(s), elapsedMs: s.context.elapsedMs };
  };
  return { actor, judge, view };
}

describe("rollout machine", () => {
  test("shadow, then each stage when its time, samples and a pass are in, then promoted", () => {
    const { actor, judge, view } = rollout();
    expect(view()).toMatchObject({ state: "idle", share: 0 });
    actor.send({ type: "rollout.started", now: 0 });
    expect(view()).toMatchObject({ state: "active", stage: -1, share: 0 });
    judge(4 * MIN);
    expect(view().stage).toBe(-1);
    judge(5 * MIN);
    expect(view()).toMatchObject({ stage: 0, share: 500, elapsedMs: 0 });
    judge(10 * MIN);
    expect(view()).toMatchObject({ stage: 0, elapsedMs: 5 * MIN });
    judge(15 * MIN);
    expect(view()).toMatchObject({ stage: 1, share: 2500, elapsedMs: 0 });
    // Time is in, but only 60 calls per arm: the stage holds.
    judge(25 * MIN, "pass", 60);
    judge(26 * MIN, "insufficient_data", 0);
    expect(view()).toMatchObject({ stage: 1, elapsedMs: 11 * MIN });
    judge(27 * MIN, "pass", 60);
    expect(view()).toMatchObject({ state: "promoted", share: 10_000 });
  });

  test("too little traffic holds a stage however long it runs, and never fails it", () => {
    const { actor, judge, view } = rollout();
    actor.send({ type: "rollout.started", now: 0 });
    judge(5 * MIN);
    for (let m = 6; m < 600; m += 5) judge(m * MIN, "insufficient_data", 1);
    expect(view()).toMatchObject({ state: "active", stage: 0 });
  });

  test("pause time does not count toward a stage, and resume returns to where it was", () => {
    const { actor, judge, view } = rollout();
    actor.send({ type: "rollout.started", now: 0 });
    judge(5 * MIN);
    judge(9 * MIN);
    actor.send({ type: "operator.paused", now: 9 * MIN, reason: "lunch" });
    expect(view()).toMatchObject({ state: "paused", share: 500, elapsedMs: 4 * MIN });
    expect(actor.getSnapshot().context.pauseReason).toBe("lunch");
    judge(100 * MIN);
    actor.send({ type: "operator.resumed", now: 200 * MIN });
    expect(view()).toMatchObject({ state: "active", stage: 0, elapsedMs: 4 * MIN });
    judge(205 * MIN);
    expect(view()).toMatchObject({ stage: 0, elapsedMs: 9 * MIN });
    judge(206 * MIN);
    expect(view().stage).toBe(1);
  });

  test("a critical judgement rolls back at once; plain failures only when consecutive", () => {
    const a = rollout();
    a.actor.send({ type: "rollout.started", now: 0 });
    a.judge(5 * MIN);
    a.judge(6 * MIN, "fail");
    a.judge(7 * MIN, "pass");
    a.judge(8 * MIN, "fail");
    expect(a.view().state).toBe("active");
    a.judge(9 * MIN, "fail");
    expect(a.view()).toMatchObject({ state: "rollingBack", share: 0 });
    expect(a.actor.getSnapshot().context.rollbackReason).toBe(`fail at ${9 * MIN}`);

    const b = rollout();
    b.actor.send({ type: "rollout.started", now: 0 });
    b.judge(5 * MIN);
    b.judge(6 * MIN, "fail", 30, true);
    expect(b.view().state).toBe("rollingBack");
  });

  test("inconclusive judgements in a row pause for an operator", () => {
    const { actor, judge, view } = rollout();
    actor.send({ type: "rollout.started", now: 0 });
    judge(1 * MIN, "inconclusive");
    judge(2 * MIN, "inconclusive");
    judge(3 * MIN, "pass");
    judge(4 * MIN, "inconclusive");
    judge(5 * MIN, "inconclusive");
    expect(view().state).toBe("active");
    judge(6 * MIN, "inconclusive");
    expect(view().state).toBe("paused");
    expect(actor.getSnapshot().context.pauseReason).toBe(`inconclusive at ${6 * MIN}`);
  });

  test("a rollback settles, cools down, and then the rollout may start again; promote from any running state", () => {
    const { actor, judge, view } = rollout();
    actor.send({ type: "rollout.started", now: 0 });
    judge(5 * MIN);
    actor.send({ type: "rollback.requested", now: 6 * MIN, reason: "operator abort" });
    actor.send({ type: "rollback.completed", now: 7 * MIN });
    expect(view()).toMatchObject({ state: "rolledBack", share: 0 });
    actor.send({ type: "rollout.started", now: 20 * MIN });
    expect(view().state).toBe("rolledBack");
    actor.send({ type: "rollout.started", now: 37 * MIN });
    expect(view()).toMatchObject({ state: "active", stage: -1 });
    actor.send({ type: "operator.paused", now: 38 * MIN, reason: "check" });
    actor.send({ type: "operator.promoted", now: 39 * MIN });
    expect(view()).toMatchObject({ state: "promoted", share: 10_000 });
    judge(40 * MIN, "fail", 100, true);
    expect(view().state).toBe("rollingBack");
    expect(actor.getSnapshot().context.rollbacks).toBe(2);
  });

  test("an operator moves one stage at a time: shadow to the first stage, on to promoted; paused, it resumes in the next stage", () => {
    const { actor, view } = rollout();
    actor.send({ type: "rollout.started", now: 0 });
    actor.send({ type: "operator.advanced", now: MIN });
    expect(view()).toMatchObject({ state: "active", stage: 0, share: 500, elapsedMs: 0 });
    expect(actor.getSnapshot().value).toEqual({ active: "stage" });
    actor.send({ type: "operator.paused", now: 2 * MIN, reason: "look" });
    actor.send({ type: "operator.advanced", now: 3 * MIN });
    expect(view()).toMatchObject({ state: "active", stage: 1, share: 2500, elapsedMs: 0 });
    expect(actor.getSnapshot().context).toMatchObject({ pausedAt: null, pauseReason: null, clockAt: 3 * MIN, samples: { v1: 0, v2: 0 } });
    actor.send({ type: "operator.paused", now: 4 * MIN, reason: "again" });
    actor.send({ type: "operator.advanced", now: 5 * MIN });
    expect(view()).toMatchObject({ state: "promoted", share: 10_000 });
    expect(actor.getSnapshot().context.pauseReason).toBeNull();
    // Nothing further to move to: promoted ignores it.
    actor.send({ type: "operator.advanced", now: 6 * MIN });
    expect(view()).toMatchObject({ state: "promoted", share: 10_000 });
  });

  test("the default plan is the plan's: 5, 10, 25, 50, 75% for 1, 1, 2, 4, 8 hours, then 100%", () => {
    expect(DEFAULT_PLAN.stages.map((s) => [s.weightBp / 100, s.minDurationMs / 3_600_000])).toEqual([[5, 1], [10, 1], [25, 2], [50, 4], [75, 8]]);
  });
});
