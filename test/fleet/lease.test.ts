/**
 * Leases, fences and claimed commands on both backends, in one process:
 * terms only grow, a fenced write after a takeover is refused and writes
 * nothing, two claimers never get one command, and a node id held by a
 * live process elsewhere is refused.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createFlags, createFleetNode, createPool, openStore } from "../../mod.ts";
import { fencedStore } from "../../src/store/store.ts";
import { fixture, rejection, sleep } from "../helpers.ts";
import { BACKENDS } from "../store/backends.ts";

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== null)(`leases and fences (${backend.name})`, () => {
    afterAll(() => backend.cleanup());

    test("a lease is held until it expires or is released; each new holder takes the next term", async () => {
      const store = await openStore(backend.fresh());
      // A second is long enough on a busy machine for the checks made while it holds.
      const a = await store.leases.acquire("l", "a", 1000);
      expect(a).toMatchObject({ acquired: true, lease: { holder: "a", term: 1 } });
      expect((await store.leases.acquire("l", "b", 1000)).acquired).toBe(false);
      expect(await store.leases.renew("l", "a", 1, 1000, null)).toBe(true);
      expect(await store.leases.renew("l", "b", 1, 1000, null)).toBe(false);
      await sleep(1100);
      const b = await store.leases.acquire("l", "b", 300);
      expect(b).toMatchObject({ acquired: true, lease: { holder: "b", term: 2 } });
      // The old holder's term is over: it can neither renew nor release.
      expect(await store.leases.renew("l", "a", 1, 300, null)).toBe(false);
      expect(await store.leases.release("l", "a", 1)).toBe(false);
      expect(await store.leases.release("l", "b", 2)).toBe(true);
      expect(await store.leases.acquire("l", "a", 300)).toMatchObject({ acquired: true, lease: { holder: "a", term: 3 } });
      await store.close();
    });

    test("two nodes racing for a free lease: exactly one gets it", async () => {
      const url = backend.fresh();
      const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(url)));
      const results = await Promise.all(stores.map((s, i) => s.leases.acquire("race", `n${i}`, 5000)));
      expect(results.filter((r) => r.acquired)).toHaveLength(1);
      expect(new Set(results.map((r) => r.lease?.holder)).size).toBe(1);
      await Promise.all(stores.map((s) => s.close()));
    });

    test("a write fenced by an expired or superseded term is refused with a FencedError and writes nothing", async () => {
      const store = await openStore(backend.fresh());
      await store.leases.acquire("rollout:r", "a", 1000);
      const fenced = fencedStore(store, store.leases.fence("rollout:r", "a", 1));
      await fenced.decisions.record({ rolloutId: "r", at: 1, kind: "judged", stateFrom: "x", stateTo: "x", shareFrom: 0, shareTo: 0, reason: "ok", inputs: {} });
      await sleep(1100);
      // Expired, nobody else yet: still refused (the holder must renew first).
      const expired = await rejection(fenced.journal.append({ actorId: "rollout:r", seq: 1, event: { type: "x" }, at: 1 }));
      expect(expired._tag).toBe("FencedError");
      await store.leases.acquire("rollout:r", "b", 5000);
      const superseded = await rejection(fenced.flags.set("pool_v2_share", 5000));
      expect(superseded).toMatchObject({ _tag: "FencedError", term: 1, currentTerm: 2, holder: "b" });
      const flagged = await rejection(store.flags.set("pool_v2_share", 5000, { fence: store.leases.fence("rollout:r", "a", 1) }));
      expect(flagged._tag).toBe("FencedError");
      expect(await store.journal.read("rollout:r")).toEqual([]);
      expect(await store.flags.get("pool_v2_share")).toBeUndefined();
      expect(await store.decisions.list("r")).toHaveLength(1);
      await store.close();
    });

    test("preempting a held lease ends its term at once: the holder's writes are refused, the next holder takes a newer term", async () => {
      const store = await openStore(backend.fresh());
      expect(await store.leases.preempt("rollout:r")).toBeNull();
      await store.leases.acquire("rollout:r", "a", 60_000);
      expect(await store.leases.preempt("rollout:r")).toBe(1);
      const refused = await rejection(store.flags.set("pool_v2_share", 5000, { fence: store.leases.fence("rollout:r", "a", 1) }));
      expect(refused).toMatchObject({ _tag: "FencedError", term: 1, currentTerm: 2, holder: null });
      expect(await store.leases.renew("rollout:r", "a", 1, 60_000, null)).toBe(false);
      const next = await store.leases.acquire("rollout:r", "a", 60_000);
      expect([next.acquired, next.lease?.term]).toEqual([true, 3]);
      expect(await store.flags.get("pool_v2_share")).toBeUndefined();
      await store.close();
    });

    test("a command is claimed by one claimer; one claimed under an older term is claimed again", async () => {
      const url = backend.fresh();
      const [s1, s2] = await Promise.all([openStore(url), openStore(url)]);
      const id = await s1.commands.enqueue({ target: "r", command: "pause" });
      const claims = await Promise.all([s1.commands.claim("r", "a", 1), s2.commands.claim("r", "b", 1)]);
      expect(claims.filter((c) => c !== undefined)).toHaveLength(1);
      expect(await s1.commands.claim("r", "c", 1)).toBeUndefined();
      const again = await s2.commands.claim("r", "c", 2);
      expect(again).toMatchObject({ id, status: "claimed", claimedBy: "c", claimedTerm: 2 });
      expect(await s2.commands.complete(id, "applied", {})).toBe(true);
      expect(await s2.commands.claim("r", "d", 3)).toBeUndefined();
      await Promise.all([s1.close(), s2.close()]);
    });

    test("two processes joining with one new id at the same moment: one joins, the other gets a FleetError", async () => {
      const url = backend.fresh();
      const stores = await Promise.all(Array.from({ length: 4 }, () => openStore(url)));
      const join = { nodeId: "twin", target: "r", host: "h", version: "0", role: "follower" as const, arms: ["v1", "v2"], heartbeatMs: 5000 };
      const results = await Promise.allSettled(stores.map((s, i) => s.nodes.join({ ...join, pid: 100 + i })));
      expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
      for (const r of results) if (r.status === "rejected") expect((r.reason as { _tag: string })._tag).toBe("FleetError");
      await Promise.all(stores.map((s) => s.close()));
    });

    test("a window written twice (a retry) is one row", async () => {
      const store = await openStore(backend.fresh());
      const entry = { poolName: "v2", nodeId: "a", timestamp: 5000, metrics: { calls: 3 } };
      await store.poolMetrics.record(entry);
      await store.poolMetrics.record(entry);
      expect(await store.poolMetrics.range("v2")).toHaveLength(1);
      await store.close();
    });

    test("a node id held by a live node of another process is refused; a stopped or stale one is taken over", async () => {
      const store = await openStore(backend.fresh());
      const join = { nodeId: "web-1", target: "r", host: "h1", pid: 1, version: "0", role: "follower" as const, arms: ["v1", "v2"], heartbeatMs: 400 };
      await store.nodes.join(join);
      const taken = await rejection(store.nodes.join({ ...join, pid: 2 }));
      expect(taken).toMatchObject({ _tag: "FleetError", nodeId: "web-1", operation: "join" });
      expect(taken.message).toContain("pid 1");
      // Stale after three missed beats.
      await sleep(1300);
      expect((await store.nodes.list("r"))[0]!.live).toBe(false);
      expect((await store.nodes.join({ ...join, pid: 2 })).pid).toBe(2);
      expect(await store.nodes.beat("web-1", { host: "h1", pid: 1 }, { role: "follower", shareBp: 0, state: {} })).toBe(false);
      await store.nodes.leave("web-1", { host: "h1", pid: 2 });
      expect((await store.nodes.join({ ...join, pid: 3 })).pid).toBe(3);
      await store.close();
    });
  });
}

describe("a fleet node's life", () => {
  test("stop() leaves the fleet once, for every caller, and a beat in flight does not bring the node back", async () => {
    const store = await openStore(":memory:");
    const flags = await createFlags({ store, env: {} });
    const common = { handler: fixture("echo_handler.py"), size: 1, heartbeatMs: 0 };
    const [v1, v2] = await Promise.all([createPool({ name: "v1", strategy: "basic", ...common }), createPool({ name: "v2", ...common })]);
    const node = await createFleetNode({ store, flags, v1, v2, nodeId: "n", heartbeatMs: 20, leaseMs: 10_000 });
    await sleep(100);
    const [a, b] = [node.stop(), node.stop()];
    await Promise.all([a, b]);
    expect(node.status().role).toBe("stopped");
    await sleep(100);
    const [row] = await store.nodes.list();
    expect([row?.role, row?.live]).toEqual(["stopped", false]);
    expect((await store.leases.get("rollout:rollout"))?.holder).toBeNull();
    await Promise.all([v1.stop(), v2.stop()]);
    await flags.close();
    await store.close();
  });
});

describe("createFleetNode options", () => {
  test("bad options are ConfigErrors naming the option, and nothing is registered", async () => {
    const store = await openStore(":memory:");
    const flags = await createFlags({ store, env: {} });
    const common = { handler: fixture("echo_handler.py"), size: 1, heartbeatMs: 0 };
    const [v1, v2] = await Promise.all([createPool({ name: "v1", strategy: "basic", ...common }), createPool({ name: "v2", ...common })]);
    const base = { store, flags, v1, v2 };
    const cases: [Record<string, unknown>, string, string][] = [
      [{ leaseMs: 5000, windowMs: 10_000 }, "leaseMs", "at least windowMs"],
      [{ windowMs: 1500 }, "windowMs", "a multiple of pool"],
      [{ heartbeatMs: 10_000 }, "heartbeatMs", "less than leaseMs"],
      [{ whenStoreLost: "panic" }, "whenStoreLost", `"hold" or "v1"`],
      [{ nodeId: "" }, "nodeId", "a non-empty string"],
      [{ v2: v1 }, "v2", "a pool other than v1"],
      [{ spanMs: 100 }, "spanMs", "at least windowMs"],
      // Another pool under V1's name: both arms' windows would be written as one.
      [{ v2: Object.create(v2, { name: { value: "v1" } }) }, "v2.name", "a name other than v1's"],
      [{ plan: { stages: [] } }, "plan.stages", "a non-empty array"],
      [{ bogus: 1 }, "bogus", "one of the known options"],
    ];
    for (const [bad, option, allowed] of cases) {
      const e = await rejection(createFleetNode({ ...base, ...bad } as never));
      expect(e._tag).toBe("ConfigError");
      expect(e.option).toBe(option);
      expect(e.message).toContain(allowed);
    }
    expect(await store.nodes.list()).toEqual([]);
    await Promise.all([v1.stop(), v2.stop()]);
    await flags.close();
    await store.close();
  });
});
