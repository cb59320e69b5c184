/**
 * The rollout event stream from a real controller on a simulated clock,
 * judged on scripted windows: every decision recorded is told once, as the
 * event it stands for, with the decision's time, state, share and reason;
 * and notifiers whose receivers are down or slow never hold a tick back.
 */
import { afterAll, afterEach, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { type ArmRead, type ArmSource, type ArmWindow, createFlags, createFleetNode, createWebhookNotifier, openStore, type NotifyError, type RolloutEventName, RolloutEventStream, type RolloutNotice, type ShadowWindow } from "../../mod.ts";
import { rejection, repoPath, waitFor } from "../helpers.ts";
import { setup, v2Options } from "../migration/helpers.ts";
import { armPool } from "../routing/helpers.ts";
import { BACKENDS } from "../store/backends.ts";
import { QUICK_PLAN, rig } from "./helpers.ts";
import { schemaErrors } from "./json-schema.ts";
import { type Receiver, refusingUrl, startReceiver } from "./receiver.ts";

const MIN = 60_000;
const PLAN = {
  shadowMs: 0,
  stages: [{ weightBp: 5000, minDurationMs: MIN, minSamples: 20 }, { weightBp: 7500, minDurationMs: MIN, minSamples: 20 }],
  failuresToRollback: 2,
  inconclusiveToPause: 2,
  cooldownMs: 0,
};

type Window = "pass" | "fail" | "inconclusive" | "few" | "broken";

const arm: ArmWindow = { calls: 1000, errors: 0, windowS: 60, p50Ms: 4, p90Ms: 8, p99Ms: 20, latencySample: [], workers: 2, crashes: 0, saturated: 0, queued: 0, queueWaitP99Ms: 0, cpuPercent: null, memoryPercent: null, rss: [] };
const read = (window: ArmWindow): ArmRead => ({
  window, calls: window.calls, sessions: { calls: 0, moved: 0, rebound: 0 }, seen: { calls: 0, sessions: { calls: 0, moved: 0, rebound: 0 } }, affinity: "none" as ArmRead["affinity"], breaker: null,
});

/** Windows that judge as asked: a pass, a (non-critical) failure, an inconclusive shadow mismatch rate, too few calls, or a read that fails. */
function scripted(): ArmSource & { next: Window[] } {
  const next: Window[] = [];
  return {
    next,
    read: () => {
      const kind = next.shift() ?? "pass";
      if (kind === "broken") return Promise.reject(new Error("injected: the arms cannot be read"));
      const v2 = kind === "fail" ? { ...arm, errors: 60 } : kind === "few" ? { ...arm, calls: 10 } : arm;
      const v1 = kind === "few" ? { ...arm, calls: 10 } : arm;
      const shadow: ShadowWindow | null = kind === "inconclusive" ? { compared: 100, mismatched: 4, noiseFloor: 0 } : null;
      return Promise.resolve({ v1: read(v1), v2: read(v2), shadow, accept: () => {} });
    },
  };
}

async function watched(extra: Record<string, unknown> = {}) {
  const stream = new RolloutEventStream();
  const events: RolloutNotice[] = [];
  stream.subscribe((e) => events.push(e));
  const arms = scripted();
  const r = await rig("", { arms, events: stream, plan: PLAN, rollback: { drainTimeoutMs: 0 }, ...extra });
  const tick = async (window: Window, ms = 0): Promise<void> => {
    r.advance(ms);
    arms.next.push(window);
    await r.rollout.tick();
  };
  return { r, events, stream, tick, arms };
}

const sqlite = BACKENDS[0]!;
afterAll(() => sqlite.cleanup());
const receivers: Receiver[] = [];
afterEach(async () => void (await Promise.all(receivers.splice(0).map((x) => x.close()))));

test("every decision is told once, as the event it stands for, with the decision's time, state, share and reason", async () => {
  const { r, events, tick } = await watched();
  await r.rollout.start();
  await tick("pass", MIN / 2); // stage 1 is not due yet: nothing to tell
  await tick("few", MIN); // due, but too few calls to judge: held
  await tick("few", 1000); // the same hold: not told again
  await tick("pass", 1000); // advances to stage 2
  await tick("inconclusive", 1000);
  await tick("inconclusive", 1000); // the second in a row pauses
  await r.rollout.resume();
  await r.rollout.pause("maintenance window");
  await r.rollout.resume();
  await tick("fail", 1000); // one failure: held, the rollback one failure away
  await tick("fail", 1000); // two: rolled back
  await r.rollout.start();
  await r.rollout.promote();
  await r.rollout.emergencyRollback("pager");

  const expected: RolloutEventName[] = [
    "rollout.started", "window.judged", "stage.held", "window.judged", "stage.advanced", "verdict.inconclusive_streak", "rollout.paused",
    "rollout.resumed", "rollout.paused", "rollout.resumed", "stage.held", "rollback.started", "rollback.completed",
    "rollout.started", "rollout.promoted", "rollback.started", "rollback.completed",
  ];
  expect(events.map((e) => e.event)).toEqual(expected);
  // One event per decision, each with the decision's own fields: the stream and the log cannot disagree.
  const decisions = await r.store.decisions.list("rollout");
  expect(events.map((e) => [e.at, e.state, e.previousShareBp, e.shareBp, e.reason, e.recorded])).toEqual(decisions.map((d) => [d.at, d.stateTo, d.shareFrom, d.shareTo, d.reason, true]));

  const by = (name: RolloutEventName, nth = 0): RolloutNotice => events.filter((e) => e.event === name)[nth]!;
  expect(by("rollout.started")).toMatchObject({ trigger: "operator", stage: 1, stages: 2, shareBp: 5000, previousShareBp: 0, verdict: null });
  expect(by("stage.held")).toMatchObject({ trigger: "rollout", stage: 1, detail: { cause: "insufficient_data", samplesV1: 1010, minSamples: 20 }, verdict: { verdict: "insufficient_data" } });
  expect(by("stage.advanced")).toMatchObject({ stage: 2, previousShareBp: 5000, shareBp: 7500, elapsedMs: 0, detail: { from: "active.stage" }, verdict: { verdict: "pass", critical: false, failing: [] } });
  expect(by("verdict.inconclusive_streak")).toMatchObject({ detail: { streak: 1, pauseAfter: 2 }, verdict: { verdict: "inconclusive", failing: [{ rule: "shadow_mismatch_rate", status: "inconclusive", value: 0.04 }] } });
  expect(by("rollout.paused")).toMatchObject({ trigger: "rollout", state: "paused", detail: { streak: 2 } });
  expect(by("rollout.paused", 1)).toMatchObject({ trigger: "operator", reason: "maintenance window", detail: { command: "pause" } });
  expect(by("stage.held", 1)).toMatchObject({ detail: { cause: "failing", failures: 1, rollbackAfter: 2 }, verdict: { verdict: "fail", failing: [{ rule: "v2_error_rate", status: "fail", value: 0.06, threshold: 0.05 }, { rule: "error_rate_vs_v1", status: "fail", value: null, threshold: 3 }] } });
  expect(by("rollback.started")).toMatchObject({ trigger: "rollout", state: "rollingBack", previousShareBp: 7500, shareBp: 0, detail: { emergency: false, critical: false } });
  expect(by("rollback.completed")).toMatchObject({ state: "rolledBack", shareBp: 0, detail: { emergency: false, leftInFlight: 0, failedSteps: "" } });
  expect(by("rollout.promoted")).toMatchObject({ trigger: "operator", state: "promoted", shareBp: 10_000, stage: null, detail: { command: "promote" } });
  expect(by("rollback.started", 1)).toMatchObject({ trigger: "operator", reason: "pager", detail: { emergency: true, command: "emergency_rollback" } });
  expect(by("rollback.completed", 1)).toMatchObject({ detail: { emergency: true } });
  await r.stop();
}, 60_000);

test("failed ticks are told as tick.failed (holding once the rollout holds), and the recovery as tick.recovered", async () => {
  const { r, events, tick } = await watched({ maxTickFailures: 2 });
  await r.rollout.start();
  for (let i = 0; i < 2; i++) expect((await rejection(tick("broken", 1000))).message).toBe("injected: the arms cannot be read");
  await tick("pass", 1000);
  expect(events.map((e) => [e.event, e.detail])).toEqual([
    ["rollout.started", {}],
    ["tick.failed", { error: "Error", message: "injected: the arms cannot be read", consecutive: 1, holding: false }],
    ["tick.failed", { error: "Error", message: "injected: the arms cannot be read", consecutive: 2, holding: true }],
    ["window.judged", {}],
    ["tick.recovered", { failures: 2, discardedMs: 3000 }],
  ]);
  await r.stop();
}, 60_000);

test("notifiers whose receivers are down or never answer do not hold back a tick or a command; what they missed is said", async () => {
  const slow = await startReceiver({ hold: true });
  receivers.push(slow);
  const lost: NotifyError[] = [];
  const down = createWebhookNotifier({ name: "down", url: await refusingUrl(), backoffMs: 60_000, maxBackoffMs: 60_000, maxAttempts: 10, onError: (e) => lost.push(e) });
  const stuck = createWebhookNotifier({ name: "stuck", url: slow.url, timeoutMs: 600_000, events: "all", onError: (e) => lost.push(e) });
  const { r, events, tick } = await watched({ notify: [down, stuck] });
  await r.rollout.start();
  await tick("pass", MIN); // advanced
  await tick("pass", MIN / 2); // judged
  await tick("few", MIN); // held
  await r.rollout.pause("checking");
  await r.rollout.resume();
  await r.rollout.rollback("done");
  // Everything ran to its end while the slow receiver had answered nothing and the other could not be reached.
  expect(r.rollout.status().state).toBe("rolledBack");
  expect(events.map((e) => e.event)).toEqual(["rollout.started", "stage.advanced", "window.judged", "stage.held", "rollout.paused", "rollout.resumed", "rollback.started", "rollback.completed"]);
  expect(slow.answered()).toBe(0);
  // One request at a time: the first is with the receiver, the rest wait behind it.
  expect(await waitFor(() => slow.requests.length === 1, 5000)).toBe(true);
  // Its first event is being tried (refused, then a minute's wait before the next attempt), the rest (all but window.judged) queued behind.
  expect(down.stats()).toEqual({ delivered: 0, failed: 0, dropped: 0, queued: 7 });
  await r.stop();

  // Released, the slow receiver gets every event, in order; the other's are dropped at close's deadline, each said.
  slow.release();
  expect(await stuck.close(10_000)).toEqual({ queued: 0, delivered: 8, failed: 0, dropped: 0 });
  expect(slow.requests.map((q) => JSON.parse(q.body).event)).toEqual(events.map((e) => e.event));
  expect(await down.close(50)).toEqual({ queued: 0, delivered: 0, failed: 0, dropped: 7 });
  expect(lost.map((e) => `${e.notifier} ${e.problem}`)).toEqual(Array(7).fill("down closed"));
}, 60_000);

test("notify and events are validated with the option's name", async () => {
  await expect(rig("", { notify: [{}] as never })).rejects.toThrow(/rollout: notify\[0\] must be a Notifier/);
  await expect(rig("", { notify: "all" as never })).rejects.toThrow('rollout: notify must be an array of notifiers, received "all"');
  await expect(rig("", { events: {} as never })).rejects.toThrow("rollout: events must be a RolloutEventStream, received {}");
}, 60_000);

test("a migration's rollout tells its stream and notifiers, and decommissioning V1 ends it with migration.decommissioned", async () => {
  const r = await startReceiver();
  receivers.push(r);
  const stream = new RolloutEventStream();
  const events: RolloutNotice[] = [];
  stream.subscribe((e) => events.push(e));
  const hook = createWebhookNotifier({ url: r.url, secret: "s" });
  const m = await setup(sqlite.fresh(), v2Options(), { rollout: { plan: QUICK_PLAN, thresholds: { minCalls: 20, criticalMinCalls: 10 }, events: stream, notify: [hook] } });
  await m.rollOut();
  m.advance(10 * MIN);
  expect((await m.migration.decommission()).state).toBe("complete");
  expect(events.map((e) => e.event)).toEqual(["rollout.started", "stage.advanced", "rollout.promoted", "migration.decommissioned"]);
  expect(events.at(-1)).toMatchObject({
    rolloutId: "migration", state: "complete", stage: null, stages: 2, shareBp: 10_000, previousShareBp: 10_000, trigger: "operator",
    detail: { command: "decommission", v1: "v1", v2: "v2", archiveDir: expect.stringContaining("v1-archive") },
  });
  await m.close();
  expect(await hook.close()).toMatchObject({ delivered: 4, failed: 0, dropped: 0 });
  const schema = JSON.parse(readFileSync(repoPath("docs/notifications.schema.json"), "utf8"));
  expect(r.requests.map((q) => schemaErrors(schema, JSON.parse(q.body)))).toEqual([[], [], [], []]);
  expect(JSON.parse(r.requests.at(-1)!.body).event).toBe("migration.decommissioned");
}, 60_000);

test("a fleet node's leader tells the stream and notifiers it was given about the commands it applies", async () => {
  const r = await startReceiver();
  receivers.push(r);
  const stream = new RolloutEventStream();
  const events: RolloutNotice[] = [];
  stream.subscribe((e) => events.push(e));
  const hook = createWebhookNotifier({ url: r.url });
  const store = await openStore(":memory:");
  const flags = await createFlags({ store, env: {} });
  const [v1, v2] = await Promise.all([armPool("v1"), armPool("v2")]);
  const node = await createFleetNode({ store, flags, v1, v2, nodeId: "web-1", heartbeatMs: 100, leaseMs: 10_000, commandPollMs: 20, plan: PLAN, events: stream, notify: [hook] });
  expect(await waitFor(() => node.status().role === "leader", 10_000)).toBe(true);
  await store.commands.enqueue({ target: "rollout", command: "start", requestedBy: "alice" });
  await store.commands.enqueue({ target: "rollout", command: "pause", args: { reason: "look" } });
  expect(await waitFor(() => events.length === 2, 10_000)).toBe(true);
  expect(events.map((e) => [e.event, e.trigger, e.shareBp, e.reason])).toEqual([["rollout.started", "operator", 5000, "operator started the rollout"], ["rollout.paused", "operator", 5000, "look"]]);
  await node.stop();
  expect(await hook.close()).toMatchObject({ delivered: 2 });
  expect(r.requests.map((q) => JSON.parse(q.body).event)).toEqual(["rollout.started", "rollout.paused"]);
  await Promise.all([v1.stop(), v2.stop()]);
  await flags.close();
  await store.close();
}, 60_000);
