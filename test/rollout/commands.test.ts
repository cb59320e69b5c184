/**
 * Operator commands from every state: each is applied, a no-op, or refused
 * with a RolloutError naming where it is allowed; abort → retry → promote;
 * an emergency rollback flips the share before its promise is even awaited,
 * and no call in flight is lost.
 */
import { describe, expect, test } from "bun:test";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { type RolloutController, type RolloutStatus } from "../../mod.ts";
import { rejection, waitFor } from "../helpers.ts";
import { rig } from "./helpers.ts";

type Command = "start" | "pause" | "resume" | "promote" | "rollback";
const COMMANDS: Command[] = ["start", "pause", "resume", "promote", "rollback"];

/** What each command does from each settled state: the state after it, or "error". */
const EXPECTED: Record<string, Record<Command, string>> = {
  idle: { start: "active", pause: "error", resume: "error", promote: "error", rollback: "error" },
  active: { start: "active", pause: "paused", resume: "active", promote: "promoted", rollback: "rolledBack" },
  paused: { start: "paused", pause: "paused", resume: "active", promote: "promoted", rollback: "rolledBack" },
  promoted: { start: "promoted", pause: "error", resume: "error", promote: "promoted", rollback: "rolledBack" },
  rolledBack: { start: "error", pause: "error", resume: "error", promote: "error", rollback: "rolledBack" },
};

async function reach(rollout: RolloutController, state: string): Promise<void> {
  if (state === "idle") return;
  await rollout.start();
  if (state === "paused") await rollout.pause("test");
  if (state === "promoted") await rollout.promote();
  if (state === "rolledBack") await rollout.rollback("test");
}

const run = (rollout: RolloutController, command: Command): Promise<unknown> =>
  command === "rollback" ? rollout.rollback("again") : (rollout[command] as () => Promise<RolloutStatus>)();

describe("operator commands", () => {
  for (const [from, outcomes] of Object.entries(EXPECTED)) {
    test(`from ${from}: ${COMMANDS.map((c) => `${c} → ${outcomes[c]}`).join(", ")}`, async () => {
      for (const command of COMMANDS) {
        const r = await rig();
        await reach(r.rollout, from);
        const before = r.rollout.status().state;
        if (outcomes[command] === "error") {
          const e = await rejection(run(r.rollout, command));
          expect([command, e._tag, e.command]).toEqual([command, "RolloutError", command]);
          expect(r.rollout.status().state).toBe(before);
        } else {
          await run(r.rollout, command);
          expect([command, r.rollout.status().state as string]).toEqual([command, outcomes[command]!]);
        }
        await r.stop();
      }
    }, 60_000);
  }

  test("abort, retry after the cool-down, promote", async () => {
    const r = await rig();
    await r.rollout.start();
    const report = await r.rollout.rollback("abort: operator saw an alert");
    expect(report!.steps.map((s) => [s.step, s.ok])).toEqual([["share_zero", true], ["drain_v2", true], ["stop_v2", true], ["notify", true]]);
    expect((await rejection(r.rollout.start())).message).toContain("cooling down until");
    r.advance(300_000);
    await r.rollout.start();
    expect(r.rollout.status()).toMatchObject({ state: "active", stage: 1, shareBp: 5000 });
    await r.rollout.promote();
    expect([r.rollout.status().state, r.flags.share()]).toEqual(["promoted", 10_000]);
    expect((await r.store.decisions.list("rollout")).map((d) => d.kind)).toEqual([
      "started", "operator.rollback", "rolled_back", "started", "operator.promote",
    ]);
    await r.stop();
  }, 30_000);

  test("an emergency rollback sends no new call to V2 once called, and every call in flight settles", async () => {
    const notified: unknown[] = [];
    const r = await rig("slow", { rollback: { onRollback: (report) => void notified.push(report), drainTimeoutMs: 5000 } });
    await r.rollout.start();
    await r.rollout.promote();
    const inFlight = Array.from({ length: 8 }, (_, i) => r.router.execute("work", { x: i }, { sessionId: `f${i}`, idempotent: true }));
    expect(await waitFor(() => r.v2.stats().inFlight === 8, 5000)).toBe(true);
    const draining = r.v2.drain({ deadlineMs: 5000 });
    const rollingBack = r.rollout.emergencyRollback("p99 alarm");
    // Synchronously after the call, before anything was awaited:
    expect(r.flags.share()).toBe(0);
    expect(Array.from({ length: 200 }, (_, i) => r.router.decide({ sessionId: `n${i}` }).arm).every((arm) => arm === "v1")).toBe(true);
    const v2Before = r.v2.stats().calls;
    const during = await Promise.all(Array.from({ length: 20 }, (_, i) => r.router.execute("work", { x: i }, { sessionId: `n${i}`, idempotent: true })));
    expect(during.length).toBe(20);
    expect(r.v2.stats().calls).toBe(v2Before);
    const settled = await Promise.allSettled(inFlight);
    expect(settled.every((s) => s.status === "fulfilled" || typeof (s.reason as { _tag?: string })._tag === "string")).toBe(true);
    const report = await rollingBack;
    await draining;
    expect(report!.emergency).toBe(true);
    expect(report!.steps.find((s) => s.step === "drain_v2")!.ok).toBe(true);
    expect(notified.length).toBe(1);
    expect([r.rollout.status().state, r.flags.share(), r.flags.explain("pool_v2_share").source]).toEqual(["rolledBack", 0, "store"]);
    await r.stop();
  }, 30_000);

  test("the webhook receives the rollback report", async () => {
    const received: unknown[] = [];
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk: Buffer) => (body += chunk));
      req.on("end", () => {
        received.push(JSON.parse(body));
        res.end("ok");
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const r = await rig("", { rollback: { webhookUrl: `http://127.0.0.1:${port}/molt` } });
    await r.rollout.start();
    const report = await r.rollout.rollback("webhook test");
    expect(report!.steps.at(-1)).toMatchObject({ step: "notify", ok: true, detail: "told webhook" });
    expect(received).toEqual([expect.objectContaining({ rolloutId: "rollout", reason: "webhook test", emergency: false })]);
    await r.stop();
    await new Promise((resolve) => server.close(resolve));
  }, 30_000);
});
