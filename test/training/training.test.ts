/**
 * `molt train` end to end through the real CLI, with a scripted trainee:
 * for each exercise the setup starts its processes (real Python workers,
 * a SQLite store), a wrong or incomplete run makes `check` fail naming
 * what was missed, the right commands make it pass, the pass is recorded
 * with who, `molt report` counts it under "team trained", and `stop`
 * leaves no process behind. Also: check before any setup, an unknown
 * exercise, and the list.
 */
import { afterAll, expect, test } from "bun:test";
import { openStore } from "../../mod.ts";
import { cli } from "../cli/helpers.ts";
import { pidAlive, waitFor } from "../helpers.ts";
import { BACKENDS } from "../store/backends.ts";

const sqlite = BACKENDS[0]!;
const started: string[] = [];
afterAll(async () => {
  for (const url of started) await cli(url, "train", "stop");
  await sqlite.cleanup();
}, 60_000);

/** Set `exercise` up in a fresh store; the store's URL and the setup's output. */
async function setUp(exercise: string): Promise<{ url: string; out: string; molt: (...args: string[]) => ReturnType<typeof cli> }> {
  const url = sqlite.fresh();
  started.push(url);
  const r = await cli(url, "train", exercise);
  expect([r.code, r.err]).toEqual([0, ""]);
  expect(r.out).toContain(`export MOLT_STORE=${url} MOLT_MIGRATION=train-${exercise}`);
  return { url, out: r.out, molt: (...args) => cli(url, "--migration", `train-${exercise}`, ...args) };
}

/** The decisions of an exercise's migration. */
async function decisions(url: string, exercise: string) {
  const store = await openStore(url, { create: false });
  try {
    return await store.decisions.list(`train-${exercise}`);
  } finally {
    await store.close();
  }
}

/** `train check` as alice: exit code, and the missed criteria's lines. */
async function check(url: string, exercise: string): Promise<{ code: number; missed: string[]; out: string }> {
  const r = await cli(url, "train", "check", exercise, "--by", "alice");
  return { code: r.code, out: r.out + r.err, missed: r.out.split("\n").filter((l) => l.startsWith("missed")) };
}

/** `train check` of a wrong or incomplete run: exit 1, and the missed criteria's lines. */
async function missed(url: string, exercise: string): Promise<string[]> {
  const r = await check(url, exercise);
  expect(r.code).toBe(1);
  return r.missed;
}

/** The pass is recorded for alice, the report counts it, and stop ends the exercise's processes. */
async function passedAndStopped(url: string, exercise: string): Promise<void> {
  const passed = await check(url, exercise);
  expect([passed.code, passed.missed]).toEqual([0, []]);
  expect(passed.out).toContain(`exercise ${exercise} passed: recorded for alice`);
  const store = await openStore(url, { create: false });
  const setup = (await store.decisions.list(`train-${exercise}`, { kinds: ["training.setup"] }))[0]!;
  const training = (await store.validations.list(`train-${exercise}`)).filter((v) => v.kind === "training");
  await store.close();
  expect(training.map((v) => [v.verdict, v.report.exercise, v.report.by])).toEqual([["pass", exercise, "alice"]]);
  const report = await cli(url, "--migration", `train-${exercise}`, "report");
  expect(report.out).toContain("| team trained | met | 1 of 1 recorded training exercise(s) passed |");
  expect(report.out).toContain(`Training exercise ${exercise} (molt train), passed by alice`);
  expect((await cli(url, "train", "stop", exercise)).code).toBe(0);
  for (const pid of (setup.inputs as { pids: number[] }).pids) expect(pidAlive(pid)).toBe(false);
}

test("list, an unknown exercise, check before any setup; report with no pass says not measured", async () => {
  const url = sqlite.fresh();
  const list = await cli(url, "train", "list");
  expect(list.out.split("\n").filter(Boolean).map((l) => l.split(" ")[0])).toEqual(["pause-resume", "shadow", "leak", "emergency", "restore", "failover"]);
  const unknown = await cli(url, "train", "nope");
  expect([unknown.code, unknown.err]).toEqual([2, expect.stringContaining('no exercise "nope"; the exercises are pause-resume, shadow, leak, emergency, restore, failover')]);
  const before = await cli(url, "train", "check", "leak");
  expect([before.code, before.err.trim()]).toEqual([1, `error: exercise leak was never set up in ${url}: run molt train leak first`]);
}, 30_000);

/** The pause-resume exercise's store: the leak test records its pass there too, as in a team's own store. */
let teamStore = "";

test("pause-resume: a pause without a reason and no resume is missed; paused and resumed with reasons passes", async () => {
  const { url, molt } = await setUp("pause-resume");
  teamStore = url;
  expect((await molt("rollout", "pause", "--by", "alice")).code).toBe(0);
  expect(await missed(url, "pause-resume")).toEqual([
    'missed  the rollout paused, with a reason: the pause command (id 1) has no reason: say why with --reason "..."',
    'missed  the rollout resumed: no resume command was given after the exercise was set up: run molt rollout resume --by alice --reason "..."',
    "missed  the rollout resumed, with a reason: not done yet",
    "missed  the rollout resumed, by alice: not done yet",
    "missed  resumed after the pause: no resume was applied after the pause",
    "missed  the rollout is active again: not resumed yet",
  ]);
  for (const args of [["resume"], ["pause", "--reason", "database maintenance"], ["resume", "--reason", "maintenance over"]]) {
    expect((await molt("rollout", ...args, "--by", "alice")).code).toBe(0);
  }
  await passedAndStopped(url, "pause-resume");
}, 60_000);

test("shadow: nothing done is missed; one stage promoted with a reason passes", async () => {
  const { url, molt } = await setUp("shadow");
  // The record shows why it is stuck (a shadow window judged) before the trainee does anything.
  expect(await waitFor(async () => (await decisions(url, "shadow")).some((d) => d.kind === "judged"), 10_000)).toBe(true);
  expect(await missed(url, "shadow")).toEqual([
    'missed  the rollout promoted out of shadow by an operator: no promote_stage or promote command was given after the exercise was set up: run molt rollout promote --by alice --reason "..."',
    "missed  the rollout promoted out of shadow by an operator, with a reason: not done yet",
    "missed  the rollout promoted out of shadow by an operator, by alice: not done yet",
    "missed  one stage only: V2 at the first stage's 5%, not 100%: the rollout is active.shadow at V2 share 0%, not active at 5%",
  ]);
  expect((await molt("rollout", "promote", "--by", "alice", "--reason", "shadow answers match; the traffic is too low to judge")).code).toBe(0);
  await passedAndStopped(url, "shadow");
}, 60_000);

test("leak: a pause is not a rollback; a rollback with a reason passes", async () => {
  const { url, molt } = await setUp("leak");
  expect((await molt("rollout", "pause", "--by", "alice", "--reason", "looking at V2")).code).toBe(0);
  expect(await missed(url, "leak")).toEqual([
    'missed  V2 rolled back by an operator: no rollback or emergency_rollback or abort command was given after the exercise was set up: run molt rollback --by alice --reason "..."',
    "missed  V2 rolled back by an operator, with a reason: not done yet",
    "missed  V2 rolled back by an operator, by alice: not done yet",
    "missed  the rollout is rolled back: the rollout is paused (V2 share 25%), not rolledBack",
    "missed  V1 takes every call: pool_v2_share is 0 in the store: pool_v2_share is 2500 in the store",
  ]);
  expect((await molt("rollback", "--by", "alice", "--reason", "V2 fails a third of its calls with MemoryError", "--wait-ms", "30000")).code).toBe(0);
  await passedAndStopped(url, "leak");
  // The pass recorded in the team's store too, against its migration, once however often it is checked.
  const alone = await cli(url, "train", "check", "leak", "--by", "alice", "--record-in", teamStore);
  expect([alone.code, alone.err.split("\n")[0]]).toEqual([2, "error: train check: --record-in and --for go together, received --record-in alone"]);
  const team = ["train", "check", "leak", "--by", "alice", "--record-in", teamStore, "--for", "train-pause-resume"];
  expect((await cli(url, ...team)).out).toContain(`recorded in ${teamStore} for migration train-pause-resume`);
  expect((await cli(url, ...team)).out).toContain(`already recorded in ${teamStore}`);
  const report = await cli(teamStore, "--migration", "train-pause-resume", "report");
  expect(report.out).toContain("| team trained | met | 2 of 2 recorded training exercise(s) passed |");
  expect(report.out).toContain("Training exercise leak (molt train), passed by alice");
  expect((await cli(url, "train", "check", "leak", "--by", "alice", "--record-in", teamStore, "--for", "nope")).code).toBe(1);
}, 60_000);

test("emergency: nothing done is missed; an emergency rollback with a reason passes once V1 took every call", async () => {
  const { url, molt } = await setUp("emergency");
  expect(await missed(url, "emergency")).toContain("missed  V1 took every call since (the recorded windows): no emergency rollback was applied");
  expect((await molt("rollback", "--emergency", "--by", "alice", "--reason", "every V2 call fails", "--wait-ms", "30000")).code).toBe(0);
  // A window of calls is recorded every second: the check judges the first one wholly after the rollback.
  const store = await openStore(url, { create: false });
  const appliedAt = (await store.commands.list("train-emergency")).find((c) => c.command === "emergency_rollback")!.appliedAt!;
  expect(await waitFor(async () => (await store.poolMetrics.range("v1")).some((e) => e.timestamp >= appliedAt), 10_000)).toBe(true);
  await store.close();
  await passedAndStopped(url, "emergency");
}, 60_000);

test("restore: restoring the nightly backup is missed; the backup taken before the migration passes", async () => {
  const { url, molt } = await setUp("restore");
  const backups = JSON.parse((await molt("backup", "list", "--json")).out) as { id: string; reason: string }[];
  const nightly = backups.find((b) => b.reason === "nightly")!;
  const before = backups.find((b) => b.reason === "before migration train-restore")!;
  expect((await molt("backup", "restore", nightly.id, "--by", "alice", "--reason", "undo the flag change")).code).toBe(0);
  expect(await missed(url, "restore")).toEqual([
    `missed  the backup taken before migration train-restore: ${nightly.id} was restored, taken "nightly": the one to restore is the backup taken "before migration train-restore" (molt backup list)`,
    "missed  the circuit breaker and the pool optimizer are on again: circuit_breaker is false, pool_optimizer is false",
  ]);
  expect((await molt("backup", "restore", before.id, "--by", "alice", "--reason", "undo the flag change")).code).toBe(0);
  await passedAndStopped(url, "restore");
}, 60_000);

test("failover: a promote before the leader stopped is missed; stopped, taken over and promoted under the new leader passes", async () => {
  const { url, molt } = await setUp("failover");
  expect((await molt("rollout", "promote", "--by", "alice", "--reason", "before the failover")).code).toBe(0);
  expect((await missed(url, "failover")).map((l) => l.split(":")[0])).toEqual([
    "missed  the leader at the start (node-1) stopped",
    "missed  another node took the lease",
    "missed  the new leader applied the command",
  ]);
  const status = JSON.parse((await molt("status", "--json")).out) as { fleet: { nodes: { nodeId: string; pid: number; role: string }[] } };
  const leader = status.fleet.nodes.find((n) => n.role === "leader")!;
  expect(leader.nodeId).toBe("node-1");
  process.kill(leader.pid, "SIGTERM");
  expect(await waitFor(async () => JSON.parse((await molt("status", "--json")).out).fleet.nodes.some((n: { nodeId: string; role: string }) => n.nodeId === "node-2" && n.role === "leader"), 20_000)).toBe(true);
  // node-2 may lead before node-1 has finished stopping its workers, or before the store stops counting it live (its
  // leave may be skipped under load; its beats then go stale): the check wants it gone, as a trainee would make sure.
  expect(await waitFor(() => !pidAlive(leader.pid), 20_000)).toBe(true);
  const gone = async () => !(JSON.parse((await molt("status", "--json")).out) as typeof status).fleet.nodes.some((n) => n.nodeId === "node-1" && (n as { live?: boolean }).live === true);
  expect(await waitFor(gone, 20_000)).toBe(true);
  const promoted = await molt("rollout", "promote", "--by", "alice", "--reason", "node-2 leads; the rollout goes on");
  expect([promoted.code, promoted.out]).toEqual([0, expect.stringContaining("by node node-2")]);
  await passedAndStopped(url, "failover");
}, 90_000);
