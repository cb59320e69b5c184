/**
 * Exercise "pause-resume": hold the rollout during someone else's
 * maintenance and hand it back after, each with a reason and a name.
 *
 * @module
 */
import { commandCriteria, criterion, type Exercise, rolloutIn } from "./exercise.ts";

/** The "pause-resume" exercise. */
export const pauseResume: Exercise = {
  name: "pause-resume",
  title: "Pause and resume with a reason",
  summary: "hold the rollout during maintenance, then resume it, each with a reason and your name",
  scenario: { kind: "migration", shadowMs: 0, stagesBp: [500, 2500, 5000], minCalls: 1_000_000, tick: true },
  briefing: [
    "V2 serves 5% of the calls in the first stage. The database team starts ten minutes of maintenance",
    "and asks that nothing moves meanwhile.",
    "",
    "Pause the rollout with a reason, check in molt status that it is paused,",
    "then resume it with a reason (the maintenance is over), under your name.",
  ].join("\n"),
  async criteria(r) {
    const pause = r.commands.find((c) => c.command === "pause" && c.status === "applied");
    const resume = r.commands.find((c) => c.command === "resume" && c.status === "applied");
    return [
      ...commandCriteria(r, ["pause"], "the rollout paused", `molt rollout pause --by ${r.who} --reason "..."`),
      ...commandCriteria(r, ["resume"], "the rollout resumed", `molt rollout resume --by ${r.who} --reason "..."`),
      criterion("resumed after the pause", pause !== undefined && resume !== undefined && resume.id > pause.id, "no resume was applied after the pause"),
      resume === undefined ? criterion("the rollout is active again", false, "not resumed yet") : rolloutIn(r, ["active"], "the rollout is active again"),
    ];
  },
};
