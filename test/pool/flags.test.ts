/**
 * The kill switches a pool created with `flags` obeys, live: the breaker
 * bypassed while `circuit_breaker` is off, the optimizer stopped while
 * `pool_optimizer` is off, and a basic pool refusing flags it cannot obey.
 */
import { expect, test } from "bun:test";
import { createFlags, openStore } from "../../mod.ts";
import { rejection, waitFor } from "../helpers.ts";
import { echoPool, ofType } from "./helpers.ts";

async function flagsInMemory() {
  const store = await openStore(":memory:");
  const flags = await createFlags({ store, env: {} });
  return { flags, close: async () => (await flags.close(), await store.close()) };
}

test("circuit_breaker off bypasses an open breaker at once, and on puts it back as it was", async () => {
  const { flags, close } = await flagsInMemory();
  const { pool, events } = await echoPool({ name: "v2", size: 1, breaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 }, retry: false, flags });
  for (let i = 0; i < 2; i++) {
    expect((await rejection(pool.execute("crash", {})))._tag).toBe("WorkerExitedError");
    await waitFor(() => pool.metrics().ready === 1, 10_000);
  }
  expect((await rejection(pool.execute("echo", 1)))._tag).toBe("BreakerOpenError");

  await flags.set("circuit_breaker", false, { by: "ops", reason: "the breaker refuses good traffic" });
  expect(await pool.execute("echo", 1)).toBe(1);
  // Reported as bypassed: an open breaker that guards nothing does not make the pool unhealthy.
  expect([pool.metrics().breaker, (await pool.health()).breaker, (await pool.health()).healthy]).toEqual(["bypassed", "bypassed", true]);
  expect(ofType(events, "pool.flag.applied").map((e) => [e.flag, e.enabled])).toEqual([["circuit_breaker", false]]);

  await flags.set("circuit_breaker", true);
  expect((await rejection(pool.execute("echo", 1)))._tag).toBe("BreakerOpenError");
  expect(pool.metrics().breaker).toBe("open");
  await pool.stop();
  await close();
}, 30_000);

test("pool_optimizer off stops the optimizer of a busy pool; on lets it grow", async () => {
  const { flags, close } = await flagsInMemory();
  await flags.set("pool_optimizer", false);
  const { pool, events } = await echoPool({ name: "v2", size: 1, maxSize: 3, capacity: 1, optimizer: { enabled: true, intervalMs: 40, cooldownMs: 0 }, flags });
  expect(ofType(events, "pool.flag.applied").map((e) => [e.flag, e.enabled])).toEqual([["pool_optimizer", false]]);
  let running = true;
  const load = Array.from({ length: 6 }, async () => {
    while (running) await pool.execute("pid", { sleep: 0.05 }, { timeoutMs: 30_000 });
  });
  // Fully busy with a queue for 25 optimizer intervals: on, it would have grown after the first.
  await new Promise((r) => setTimeout(r, 1000));
  expect([pool.metrics().size, ofType(events, "pool.scaled").length]).toEqual([1, 0]);

  await flags.set("pool_optimizer", true);
  expect(await waitFor(() => ofType(events, "pool.scaled").some((e) => e.reason === "utilisation_high"), 10_000)).toBe(true);
  running = false;
  await Promise.all(load);
  await pool.stop();
  await close();
}, 30_000);

test("a basic pool refuses flags: it has neither breaker nor optimizer to switch", async () => {
  const { flags, close } = await flagsInMemory();
  const e = await rejection(echoPool({ name: "v1", strategy: "basic", flags }));
  expect([e._tag, e.message]).toEqual(["ConfigError", expect.stringContaining('pool "v1": flags must be left out with strategy "basic"')]);
  await close();
});
