/**
 * Exercise "leak": V2 at 25% leaks memory and fails a third of its calls,
 * while the monitor, set for production traffic, judges every window as
 * insufficient data. The trainee reads the evidence and rolls V2 back.
 *
 * @module
 */
import { commandCriteria, criterion, type Exercise, rolloutIn } from "./exercise.ts";

/** The "leak" exercise. */
export const leak: Exercise = {
  name: "leak",
  title: "A V2 that leaks memory at 25%",
  summary: "V2 at 25% leaks memory and fails calls; the monitor cannot tell yet: roll it back",
  scenario: { kind: "migration", v2Fault: "leak", shadowMs: 0, stagesBp: [2500, 5000, 10_000], minCalls: 1_000_000, tick: true },
  briefing: [
    "V2 serves 25% of the calls. Since it reached this stage its workers' memory grows with every call,",
    "and past its first 40 calls one call in three fails with MemoryError.",
    "The monitor is tuned for production traffic (1,000,000 calls a window): at this exercise's traffic it",
    "judges every window insufficient_data and will not act by itself.",
    "",
    "Read the evidence (molt status: V2's errors in the arms table; molt report: customer impact),",
    "then roll V2 back, saying why, under your name.",
  ].join("\n"),
  async criteria(r) {
    const share = (await r.store.flags.get("pool_v2_share"))?.value;
    return [
      ...commandCriteria(r, ["rollback", "emergency_rollback", "abort"], "V2 rolled back by an operator", `molt rollback --by ${r.who} --reason "..."`),
      rolloutIn(r, ["rolledBack"], "the rollout is rolled back"),
      criterion("V1 takes every call: pool_v2_share is 0 in the store", share === 0, `pool_v2_share is ${JSON.stringify(share)} in the store`),
    ];
  },
};
