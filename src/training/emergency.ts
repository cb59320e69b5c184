/**
 * Exercise "emergency": V2 at 50% fails every call. The trainee rolls back
 * with the emergency rollback and checks that V1 takes every call.
 *
 * @module
 */
import { armSeries, recordedRows } from "../migration/impact.ts";
import { commandCriteria, criterion, type Exercise, type TrainingRecord, rolloutIn } from "./exercise.ts";

/** The "emergency" exercise. */
export const emergency: Exercise = {
  name: "emergency",
  title: "Emergency rollback",
  summary: "V2 at 50% fails every call: roll back with --emergency and check that V1 takes all traffic",
  scenario: { kind: "migration", v2Fault: "broken", shadowMs: 0, stagesBp: [5000, 10_000], minCalls: 1_000_000, tick: true },
  briefing: [
    "V2 serves 50% of the calls and every one of them fails: users are hurt now.",
    "The monitor is tuned for production traffic and has not acted yet.",
    "",
    "Roll back at once with the emergency rollback, with a reason, under your name.",
    "Then check that V1 takes every call: pool_v2_share is 0 (molt flags get pool_v2_share)",
    "and the rollout is rolledBack (molt status).",
  ].join("\n"),
  async criteria(r) {
    const share = (await r.store.flags.get("pool_v2_share"))?.value;
    const plain = r.commands.find((c) => ["rollback", "abort"].includes(c.command) && c.status === "applied");
    const [done, ...rest] = commandCriteria(r, ["emergency_rollback"], "an emergency rollback", `molt rollback --emergency --by ${r.who} --reason "..."`);
    return [
      plain === undefined || done!.passed ? done! : { ...done!, missed: `a plain ${plain.command} was given (command ${plain.id}): when users are hurt, molt rollback --emergency stops V2's calls before anything else` },
      ...rest,
      rolloutIn(r, ["rolledBack"], "the rollout is rolled back"),
      criterion("pool_v2_share is 0 in the store", share === 0, `pool_v2_share is ${JSON.stringify(share)} in the store`),
      await v1TakesAll(r),
    ];
  },
};

/** The windows of calls recorded since the emergency rollback was applied: V1 served calls, V2 none. */
async function v1TakesAll(r: TrainingRecord) {
  const name = "V1 took every call since (the recorded windows)";
  const applied = r.commands.find((c) => c.command === "emergency_rollback" && c.status === "applied")?.appliedAt ?? null;
  if (applied === null) return criterion(name, false, "no emergency rollback was applied");
  const after = armSeries(await recordedRows(r.store, r.migrationId)).filter((p) => p.from >= applied);
  const calls = (arm: string) => after.filter((p) => p.arm === arm).reduce((n, p) => n + p.calls, 0);
  if (calls("v1") === 0) return criterion(name, false, "insufficient evidence: no window of V1's calls was recorded since the rollback yet (one is written every second): check again");
  return criterion(name, calls("v2") === 0, `V2 served ${calls("v2")} call(s) after the rollback`);
}
