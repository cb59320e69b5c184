/**
 * The announcer on decisions written by hand: operators' commands are told
 * by where they took the rollout, whatever the verb (so `abort` and a
 * one-stage promotion are told as what they did), and a restart of the
 * controller is not an event.
 */
import { expect, test } from "bun:test";
import { DEFAULT_PLAN } from "../../machines/mod.ts";
import { RolloutEventStream, type RolloutNotice } from "../../mod.ts";
import { Announcer, type DecisionDraft } from "../../src/rollout/announcer.ts";

function told(drafts: readonly Partial<DecisionDraft>[]): RolloutNotice[] {
  const stream = new RolloutEventStream();
  const seen: RolloutNotice[] = [];
  stream.subscribe((e) => seen.push(e));
  const announcer = new Announcer(stream, []);
  for (const d of drafts) {
    announcer.decided({ rolloutId: "r", at: 1, kind: "judged", stateFrom: "active.stage", stateTo: "active.stage", shareFrom: 500, shareTo: 500, reason: "", inputs: {}, ...d }, { plan: DEFAULT_PLAN, stage: 1, failures: 0, inconclusive: 0 }, true);
  }
  return seen;
}

test("operators' commands are told by what they did", () => {
  const seen = told([
    { kind: "operator.promote_stage", stateFrom: "paused", stateTo: "active.stage", shareFrom: 500, shareTo: 1000, inputs: { by: "alice" } },
    { kind: "operator.promote_stage", stateFrom: "active.shadow", stateTo: "active.stage", shareFrom: 0, shareTo: 500 },
    { kind: "operator.promote_stage", stateFrom: "active.stage", stateTo: "promoted", shareFrom: 7500, shareTo: 10_000 },
    { kind: "operator.abort", stateFrom: "paused", stateTo: "rollingBack", shareFrom: 500, shareTo: 0 },
    { kind: "operator.pause", stateFrom: "active.stage", stateTo: "paused" },
    { kind: "operator.resume", stateFrom: "paused", stateTo: "active.stage" },
    { kind: "operator.pause", stateFrom: "paused", stateTo: "paused" },
    { kind: "restored", stateFrom: "active.stage", stateTo: "active.stage" },
  ]);
  expect(seen.map((e) => [e.event, e.trigger, e.by, e.detail.command])).toEqual([
    ["stage.advanced", "operator", "alice", "promote_stage"],
    ["stage.advanced", "operator", null, "promote_stage"],
    ["rollout.promoted", "operator", null, "promote_stage"],
    ["rollback.started", "operator", null, "abort"],
    ["rollout.paused", "operator", null, "pause"],
    ["rollout.resumed", "operator", null, "resume"],
  ]);
  expect(seen[3]!.detail.emergency).toBe(false);
});
