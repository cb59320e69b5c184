/**
 * No swallowed error in the rollout loop: a store whose writes fail (a real
 * SQLite trigger refusing every journal row) makes each tick fail loudly —
 * an event, a decision where the store still takes one, the status — and
 * after `maxTickFailures` in a row the rollout holds its share and its
 * clock, until a tick succeeds again.
 */
import { afterAll, expect, test } from "bun:test";
import { migrationReport, type MoltEvent, type RolloutOptions } from "../../mod.ts";
import { rejection, repoPath, spawnChild, tsCommand, waitFor } from "../helpers.ts";
import { BACKENDS } from "../store/backends.ts";
import { rig } from "./helpers.ts";

const sqlite = BACKENDS[0]!;
afterAll(() => sqlite.cleanup());

const REFUSE = "CREATE TRIGGER refuse_journal BEFORE INSERT ON journal BEGIN SELECT RAISE(FAIL, 'injected: the journal refuses writes'); END;";
const ACCEPT = "DROP TRIGGER refuse_journal;";
const MIN = 60_000;

/** A rig on a fresh SQLite file (to put triggers in), and the rollout events on V2's bus. */
async function watched(fault: string, options: Partial<RolloutOptions> = {}) {
  const url = sqlite.fresh();
  const r = await rig(fault, options, {}, url);
  const events: MoltEvent[] = [];
  r.v2.events.subscribe((e) => void (e.type.startsWith("rollout.") && events.push(e)));
  return { url, r, events };
}

test("failed ticks are told, recorded and shown; enough in a row hold the share and the clock until a tick succeeds", async () => {
  const { url, r, events } = await watched("", { maxTickFailures: 2, plan: { shadowMs: 0, stages: [{ weightBp: 5000, minDurationMs: 10 * MIN, minSamples: 1 }, { weightBp: 7500, minDurationMs: MIN, minSamples: 1 }], failuresToRollback: 2, inconclusiveToPause: 3, cooldownMs: 0 } });
  await r.rollout.start();
  await r.traffic(40);
  r.advance(MIN);
  await r.rollout.tick();
  expect(r.rollout.status()).toMatchObject({ stage: 1, elapsedMs: MIN, tickFailures: null });

  await sqlite.exec(url, REFUSE);
  for (let i = 1; i <= 3; i++) {
    r.advance(5 * MIN);
    const e = await rejection(r.rollout.tick());
    expect([e._tag, e.message]).toEqual(["StoreError", expect.stringContaining("injected: the journal refuses writes")]);
    expect(r.rollout.status().tickFailures).toMatchObject({ consecutive: i, lastError: expect.stringContaining("StoreError: ") });
  }
  expect(events.map((e) => e.type)).toEqual(["rollout.tick_failed", "rollout.tick_failed", "rollout.held", "rollout.tick_failed"]);
  expect(r.rollout.status().tickFailures!.heldSince).toBe(r.now() - 5 * MIN);
  // While held, the stage clock stands where the last good tick left it.
  expect(r.rollout.status().elapsedMs).toBe(MIN);
  // The share stayed where it was, though 16 minutes of a 10-minute stage have passed on the clock.
  expect([r.flags.share(), r.rollout.status().stage]).toEqual([5000, 1]);
  const recorded = (await r.store.decisions.list("rollout")).slice(-3);
  expect(recorded.map((d) => d.kind)).toEqual(["tick_failed", "held", "tick_failed"]);
  expect(recorded[1]!.reason).toContain("held after 2 failed ticks in a row: the share stays at 50% and the stage clock stops until a tick succeeds");

  // molt status says so, from the store, while it lasts.
  const cli = spawnChild(tsCommand(repoPath("src/cli/molt.ts"), "--store", url, "--migration", "rollout", "status"), { stderr: "pipe" });
  const [out] = await Promise.all([new Response(cli.stdout).text(), cli.exited]);
  expect(out).toContain("tick failed");
  expect(out).toContain("injected: the journal refuses writes");

  await sqlite.exec(url, ACCEPT);
  r.advance(MIN);
  await r.traffic(40);
  await r.rollout.tick();
  expect(events.at(-1)).toMatchObject({ type: "rollout.recovered", failures: 3 });
  const status = r.rollout.status();
  // The time since the last successful tick did not count: the stage has 1 minute, not 17.
  expect([status.tickFailures, status.stage, status.elapsedMs]).toEqual([null, 1, MIN]);
  expect((await r.store.decisions.list("rollout")).map((d) => d.kind)).toContain("recovered");
  // The hold and the recovery are incidents of the migration report.
  const report = await migrationReport(r.store, "rollout");
  expect(report).toMatch(/\*\*held\*\* \(active\.stage → active\.stage\): held after 2 failed ticks in a row/);
  expect(report).toContain("**recovered**");
  // A controller alone records no windows of calls: the report says so rather than show zeros.
  expect(report).toContain("No window of calls was recorded for this migration");
  await r.stop();
}, 60_000);

/** A rollout one window into its first stage whose next tick's decision the store refuses; the tick's error. */
async function decisionsRefused(fault: string) {
  const { url, r } = await watched(fault);
  await r.rollout.start();
  await r.traffic(60);
  r.advance(MIN);
  await sqlite.exec(url, "CREATE TRIGGER refuse_decisions BEFORE INSERT ON decisions BEGIN SELECT RAISE(FAIL, 'injected: decisions refused'); END;");
  return { r, error: await rejection(r.rollout.tick()) };
}

test("a decision the store refuses still leaves the share where the journaled state says", async () => {
  // This window ends the first stage: the machine (journaled) moves to 75%, the decision cannot be written.
  const { r, error } = await decisionsRefused("");
  expect(error.message).toContain("injected: decisions refused");
  expect([r.rollout.status().shareBp, r.flags.share()]).toEqual([7500, 7500]);
  await r.stop();
}, 30_000);

test("a rollback the machine has entered runs even when its decision cannot be written", async () => {
  // A critical V2 error rate: the machine moves to rollingBack; its decision cannot be written.
  const { r } = await decisionsRefused("errors");
  expect([r.rollout.status().state, r.flags.share()]).toEqual(["rolledBack", 0]);
  await r.stop();
}, 30_000);

test("a tick that fails after a hold's clock restore is still a failure: no recovery told, the hold stays", async () => {
  const { url, r, events } = await watched("", { maxTickFailures: 1 });
  await r.rollout.start();
  // Only the judged windows are refused: the clock restore of a held rollout is written, its window is not.
  await sqlite.exec(url, `CREATE TRIGGER refuse_windows BEFORE INSERT ON journal WHEN NEW.event LIKE '%window.judged%' BEGIN SELECT RAISE(FAIL, 'injected: windows refused'); END;`);
  for (let i = 0; i < 3; i++) {
    await r.traffic(20);
    r.advance(MIN);
    await rejection(r.rollout.tick());
  }
  expect(events.map((e) => e.type)).toEqual(["rollout.tick_failed", "rollout.held", "rollout.tick_failed", "rollout.tick_failed"]);
  expect(r.rollout.status().tickFailures).toMatchObject({ consecutive: 3, heldSince: expect.any(Number) });

  // The windows whose ticks failed were never counted: the first good tick counts their calls.
  await sqlite.exec(url, "DROP TRIGGER refuse_windows;");
  await r.traffic(20);
  r.advance(MIN);
  await r.rollout.tick();
  const { samples } = r.rollout.status();
  expect(samples.v1 + samples.v2).toBe(80);
  expect(events.at(-1)!.type).toBe("rollout.recovered");
  await r.stop();
}, 30_000);

test("run() reports a failing tick instead of throwing it, and keeps ticking", async () => {
  const { url, r, events } = await watched("", { maxTickFailures: 2 });
  await r.rollout.start();
  await sqlite.exec(url, REFUSE);
  r.rollout.run(20);
  expect(await waitFor(() => events.filter((e) => e.type === "rollout.tick_failed").length >= 3, 10_000)).toBe(true);
  expect(r.rollout.status().tickFailures?.heldSince).not.toBeNull();
  await sqlite.exec(url, ACCEPT);
  expect(await waitFor(() => r.rollout.status().tickFailures === null, 10_000)).toBe(true);
  await r.stop();
}, 30_000);

test("maxTickFailures is validated", async () => {
  const r = await rig();
  const { createRolloutController } = await import("../../mod.ts");
  const e = await rejection(createRolloutController({ v1: r.v1, v2: r.v2, flags: r.flags, store: r.store, rolloutId: "x", maxTickFailures: 0 }));
  expect(e.message).toBe("rollout: maxTickFailures must be a positive integer, received 0");
  await r.stop();
});
