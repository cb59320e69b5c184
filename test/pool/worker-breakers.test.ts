/**
 * A breaker per worker position: a failing worker is taken out of dispatch
 * while the others serve, and probed back in; the pool's gate opens only
 * when more than half of the workers fail at once, and refuses calls then.
 */
import { expect, test } from "bun:test";
import { fixture, rejection, waitFor } from "../helpers.ts";
import { echoPool, ofType } from "./helpers.ts";

const poisonPool = (halfOpenAfterMs: number) =>
  echoPool({
    name: "v2",
    handler: fixture("poison_handler.py"),
    size: 4,
    minReady: 4,
    retry: false,
    breaker: { consecutiveFailures: 2, breakOn: "any-error", halfOpenAfterMs },
  });

test("one failing worker leaves dispatch while the others serve, and is probed back in once it recovers", async () => {
  const { pool, events } = await poisonPool(800);
  const bad = await pool.execute<number>("poison", { seconds: 0.6 });
  const outcomes: (number | string)[] = [];
  for (let i = 0; i < 40; i++) outcomes.push(await pool.execute<number>("work", null).catch((e: { type?: string }) => e.type ?? "error"));
  // Two failures open its position's breaker; every later call went to the three others.
  expect(outcomes.filter((o) => o === "RuntimeError").length).toBe(2);
  expect(outcomes.slice(outcomes.lastIndexOf("RuntimeError") + 1).every((o) => typeof o === "number" && o !== bad)).toBe(true);
  const position = pool.metrics().workers.find((w) => w.pid === bad)!.position;
  expect(pool.metrics().workers.find((w) => w.pid === bad)!.breaker).toBe("open");
  expect([pool.metrics().breaker, ofType(events, "breaker.changed")]).toEqual(["closed", []]);

  // Recovered by now; once due, a call probes it, and it serves again.
  expect(await waitFor(() => pool.metrics().workers.find((w) => w.pid === bad)!.breaker === "closed" || (void pool.execute("work", null).catch(() => {}), false), 10_000)).toBe(true);
  expect(ofType(events, "worker.breaker.changed").filter((e) => e.position === position).map((e) => e.to).join(" ")).toMatch(/^(open halfOpen )+closed$/);
  const served = new Set(await Promise.all(Array.from({ length: 40 }, () => pool.execute<number>("work", null))));
  expect(served.has(bad)).toBe(true);
  await pool.stop();
}, 30_000);

test("more than half of the workers failing at once opens the gate: calls are refused at the door until a probe succeeds", async () => {
  const { pool, events } = await poisonPool(500);
  // Held for a moment each, three concurrent poisonings land on three different workers.
  const bad = new Set(await Promise.all([1, 2, 3].map(() => pool.execute<number>("poison", { seconds: 0.8, hold: 0.2 }))));
  expect(bad.size).toBe(3);
  for (let i = 0; i < 30 && pool.metrics().breaker === "closed"; i++) await pool.execute("work", null).catch(() => {});
  expect(pool.metrics().breaker).toBe("open");
  const refused = await rejection(pool.execute("work", null));
  expect([refused._tag, refused.message]).toEqual(["BreakerOpenError", expect.stringContaining("v2")]);

  // The poison wears off; the gate half-opens, its probe succeeds, and it closes.
  expect(await waitFor(() => pool.metrics().breaker === "closed" || (void pool.execute("work", null).catch(() => {}), false), 10_000)).toBe(true);
  // A probe sent while the poison still held failed and opened it again: as many rounds as that took.
  expect(ofType(events, "breaker.changed").map((e) => e.to).join(" ")).toMatch(/^(open halfOpen )+closed$/);
  expect(typeof (await pool.execute("work", null))).toBe("number");
  await pool.stop();
}, 30_000);

test("a worker's exit counts once against its position, however many calls it had in flight", async () => {
  const { pool } = await echoPool({ name: "v2", size: 1, capacity: 8, retry: false, breaker: { consecutiveFailures: 3, halfOpenAfterMs: 60_000 } });
  // Five calls in flight when the worker dies: five WorkerExitedErrors, one failure of the worker.
  const inFlight = Array.from({ length: 5 }, () => pool.execute("pid", { sleep: 1 }).catch((e: { _tag: string }) => e._tag));
  await waitFor(() => pool.metrics().inFlight === 5, 5000);
  process.kill(pool.metrics().workers[0]!.pid, "SIGKILL");
  expect(await Promise.all(inFlight)).toEqual(Array(5).fill("WorkerExitedError"));
  expect(await waitFor(() => pool.metrics().ready === 1, 10_000)).toBe(true);
  expect([pool.metrics().workers[0]!.breaker, pool.metrics().breaker]).toEqual(["closed", "closed"]);
  await pool.stop();
}, 30_000);

test("breaker.initialState must be a state from pool.breakerState()", async () => {
  const e = await rejection(echoPool({ name: "v2", size: 1, breaker: { initialState: { ownState: { value: 1 } } } }));
  expect([e._tag, e.message]).toEqual(["ConfigError", expect.stringContaining('pool "v2": breaker.initialState must be a state from pool.breakerState(): { gate, positions }')]);
  const { pool } = await echoPool({ name: "v2", size: 1 });
  const saved = pool.breakerState();
  await pool.stop();
  const again = await echoPool({ name: "v2", size: 1, breaker: { initialState: saved } });
  expect(again.pool.metrics().breaker).toBe("closed");
  await again.pool.stop();
});
