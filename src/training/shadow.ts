/**
 * Exercise "shadow": a rollout stuck in shadow, every window judged
 * insufficient data. The trainee diagnoses it and moves the rollout to its
 * first stage (one stage, not all of them), saying why.
 *
 * @module
 */
import { commandCriteria, criterion, type Exercise } from "./exercise.ts";

/** The "shadow" exercise. */
export const shadow: Exercise = {
  name: "shadow",
  title: "A rollout stuck in shadow",
  summary: "the rollout never leaves shadow (insufficient data): diagnose it and promote one stage",
  scenario: { kind: "migration", shadowMs: 1000, stagesBp: [500, 2500, 5000], minCalls: 1_000_000, tick: true },
  briefing: [
    "The rollout is in shadow: V2 answers a copy of every call, V1 answers the caller.",
    "It should have left shadow after one second; it has not, and will not by itself.",
    "",
    "Find out why (molt status: the judged rows and their verdict; molt report: Lessons).",
    "V2's shadow answers match V1's. Move the rollout to its first stage, 5%:",
    "one stage, not all of them, with a reason, under your name.",
  ].join("\n"),
  async criteria(r) {
    const held = r.decisions.some((d) => d.kind === "judged" && (d.inputs as { judgement?: { verdict?: string } }).judgement?.verdict === "insufficient_data" && d.stateTo.startsWith("active.shadow"));
    const full = r.commands.find((c) => c.command === "promote" && c.status === "applied");
    const s = r.rollout;
    return [
      criterion("the record shows why it was stuck: shadow windows judged insufficient_data", held, "no shadow window was judged since the setup: is the exercise running?"),
      ...commandCriteria(r, ["promote_stage", "promote"], "the rollout promoted out of shadow by an operator", `molt rollout promote --by ${r.who} --reason "..."`),
      criterion(
        "one stage only: V2 at the first stage's 5%, not 100%",
        full === undefined && s !== null && s.state === "active" && s.shareBp === 500,
        full !== undefined ? `promote --full (command ${full.id}) skipped every stage: V2 took 100% on no evidence` : `the rollout is ${s?.detail ?? "not in the store"} at V2 share ${(s?.shareBp ?? 0) / 100}%, not active at 5%`,
      ),
    ];
  },
};
