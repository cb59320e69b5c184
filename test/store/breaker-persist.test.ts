/**
 * Breakers persisted through the store: a pool restarted on the same store
 * starts with its cockatiel breaker where it was, and the breaker machine's
 * journal shows why.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { CircuitState } from "cockatiel";
import { BREAKER_MACHINE_VERSION, breakerMachine } from "../../machines/mod.ts";
import { openStore, replay } from "../../mod.ts";
import { restorableState } from "../../src/resilience/breaker.ts";
import { rejection, waitFor } from "../helpers.ts";
import { echoPool, ofType } from "../pool/helpers.ts";
import { BACKENDS } from "./backends.ts";

const sqlite = BACKENDS[0]!;
afterAll(() => sqlite.cleanup());

async function openBreaker(url: string, halfOpenAfterMs: number) {
  const store = await openStore(url);
  const { pool, events } = await echoPool({ name: "v2", size: 1, breaker: { consecutiveFailures: 2, halfOpenAfterMs }, retry: false, store });
  return { store, pool, events };
}

async function crashTwice(pool: Awaited<ReturnType<typeof openBreaker>>["pool"]): Promise<void> {
  for (let i = 0; i < 2; i++) {
    expect((await rejection(pool.execute("crash", {})))._tag).toBe("WorkerExitedError");
    await waitFor(() => pool.metrics().ready === 1, 5000);
  }
}

describe("persisted breaker", () => {
  test("a restarted pool's breaker starts open, and refuses before any call fails", async () => {
    const url = sqlite.fresh();
    const first = await openBreaker(url, 60_000);
    await crashTwice(first.pool);
    expect(first.pool.metrics().breaker).toBe("open");
    await first.pool.stop();
    await first.store.close();

    const second = await openBreaker(url, 60_000);
    expect(second.pool.metrics().breaker).toBe("open");
    const refused = await rejection(second.pool.execute("echo", 1));
    expect(refused._tag).toBe("BreakerOpenError");
    expect(second.pool.metrics().calls).toBe(1);
    const journal = await second.store.journal.read("breaker:v2");
    expect(journal.map((e) => e.event.type)).toEqual(["breaker.opened"]);
    const replayed = await replay(breakerMachine, { actorId: "breaker:v2", machineVersion: BREAKER_MACHINE_VERSION, store: second.store, from: "start" });
    expect([replayed.state.value, replayed.state.context.opens]).toEqual(["open", 1]);
    await second.pool.stop();
    await second.store.close();
  }, 20_000);

  test("the restored breaker half-opens on schedule and a successful probe closes it, journaled", async () => {
    const url = sqlite.fresh();
    const first = await openBreaker(url, 300);
    await crashTwice(first.pool);
    await first.pool.stop();
    await first.store.close();

    const second = await openBreaker(url, 300);
    expect(second.pool.metrics().breaker).toBe("open");
    // The gate lets its probe through once halfOpenAfterMs have passed since it opened (restored).
    const { openedAt } = (second.pool.breakerState() as { gate: { openedAt: number } }).gate;
    expect(await waitFor(() => Date.now() - openedAt >= 300, 5000)).toBe(true);
    expect(await second.pool.execute("echo", 7)).toBe(7);
    expect(second.pool.metrics().breaker).toBe("closed");
    expect(ofType(second.events, "breaker.changed").map((e) => e.to)).toEqual(["halfOpen", "closed"]);
    await second.pool.stop();
    const journal = await second.store.journal.read("breaker:v2");
    expect(journal.map((e) => e.event.type)).toEqual(["breaker.opened", "breaker.halfOpened", "breaker.closed"]);
    const latest = await second.store.snapshots.latest("breaker:v2");
    expect([latest?.seq, (latest?.snapshot as { value: string }).value]).toEqual([3, "closed"]);
    await second.store.close();
  }, 20_000);

  test("a journal write that fails is reported as store.failed, and calls go on", async () => {
    const url = sqlite.fresh();
    const run = await openBreaker(url, 60_000);
    await run.store.close();
    await crashTwice(run.pool);
    expect(run.pool.metrics().breaker).toBe("open");
    // Both persisted machines opened: the gate's and the worker position's.
    expect(await waitFor(() => ofType(run.events, "store.failed").length === 2, 5000)).toBe(true);
    expect(ofType(run.events, "store.failed").map((e) => [e.pool, e.operation])).toEqual([["v2", "breaker.record"], ["v2", "breaker.record"]]);
    await run.pool.stop();
  }, 20_000);

  test("a final snapshot that cannot be written does not fail pool.stop()", async () => {
    const run = await openBreaker(sqlite.fresh(), 60_000);
    await crashTwice(run.pool);
    expect(await waitFor(() => run.pool.metrics().breaker === "open", 2000)).toBe(true);
    // The openings' journal writes must land before the store closes: only the final snapshots may fail.
    const journaled = async (): Promise<boolean> => (await run.store.journal.read("breaker:v2")).length === 1 && (await run.store.journal.read("breaker:v2#0")).length === 1;
    expect(await waitFor(journaled, 5000)).toBe(true);
    await run.store.close();
    await run.pool.stop();
    expect(ofType(run.events, "store.failed").map((e) => e.operation)).toEqual(["breaker.snapshot", "breaker.snapshot"]);
  }, 20_000);

  test("an isolation is not carried across a restart", () => {
    expect(restorableState({ ownState: { value: CircuitState.Isolated }, breakerState: {} })).toBeUndefined();
    expect(restorableState(null)).toBeUndefined();
    const open = { ownState: { value: CircuitState.Open, openedAt: 5, attemptNo: 1 }, breakerState: { count: 2 } };
    expect(restorableState(open)).toBe(open);
  });
});
