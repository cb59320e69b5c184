/**
 * An emergency rollback that lands while a node is taking the lease: the
 * new leader read the commands before the rollback was queued, so it
 * restores the stage; it must not write the stage's share over the 0.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createFlags, createFleetNode, createPool, openStore, requestEmergencyRollback, type Store } from "../../mod.ts";
import { fixture, rejection, waitFor } from "../helpers.ts";
import { BACKENDS } from "../store/backends.ts";

const common = { handler: fixture("echo_handler.py"), size: 1, heartbeatMs: 0, windowMs: 60_000, windowSlices: 120 };
const fleet = { rolloutId: "em", heartbeatMs: 100, leaseMs: 1000, windowMs: 500, autoStart: true, plan: { shadowMs: 0, stages: [{ weightBp: 5000, minDurationMs: 600_000, minSamples: 1_000_000 }] } };

async function node(url: string, nodeId: string, hook?: (store: Store) => void) {
  const store = await openStore(url);
  hook?.(store);
  const flags = await createFlags({ store, env: {}, pollMs: 50 });
  const [v1, v2] = await Promise.all([createPool({ name: "v1", strategy: "basic", ...common }), createPool({ name: "v2", ...common })]);
  const n = await createFleetNode({ store, flags, v1, v2, nodeId, ...fleet });
  const stop = async (): Promise<void> => {
    await n.stop();
    await Promise.all([v1.stop(), v2.stop()]);
    await flags.close();
    await store.close();
  };
  return { store, flags, node: n, stop };
}

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== null)(`an emergency rollback during a takeover (${backend.name})`, () => {
    afterAll(() => backend.cleanup());

    test("the node taking the lease never sets the share back up, and the rollout ends rolled back", async () => {
      const url = backend.fresh();
      const a = await node(url, "a");
      expect(await waitFor(() => a.node.status().role === "leader" && a.flags.share() === 5000, 10_000)).toBe(true);

      // Node b's first read of the commands as it takes the lease comes back empty, and the emergency lands right after.
      const operator = await openStore(url);
      let emergencyAt: number | null = null;
      // Only b reads the commands, and only as it takes the lease: once a has stopped.
      const bLeads = (): boolean => a.node.status().role === "stopped";
      const b = await node(url, "b", (store) => {
        const list = store.commands.list.bind(store.commands);
        store.commands.list = async (...args) => {
          const read = await list(...args);
          if (emergencyAt === null && bLeads()) {
            emergencyAt = (await operator.flags.lastChangeId()) + 1;
            await requestEmergencyRollback(operator, "em", { reason: "test", by: "operator" });
            // And b heard it before it restores the rollout.
            await waitFor(() => b.flags.share() === 0, 5000);
          }
          return read;
        };
      });
      await a.stop();
      expect(await waitFor(async () => (await operator.decisions.list("em")).some((d) => d.kind === "rolled_back"), 15_000)).toBe(true);
      expect(emergencyAt).not.toBeNull();

      // Every share written from the emergency on is 0.
      const after = (await operator.flags.changes({ key: "pool_v2_share", afterId: emergencyAt! - 1 })).map((c) => [c.newValue, c.changedBy]);
      expect(after.length).toBeGreaterThan(0);
      expect(after.filter(([v]) => v !== 0)).toEqual([]);
      expect(b.flags.share()).toBe(0);
      const kinds = (await operator.decisions.list("em")).map((d) => d.kind);
      expect(kinds).toContain("operator.emergency_rollback");
      // Marked applied once the rollback it asked for is done (just after the decision).
      expect(await waitFor(async () => (await operator.commands.list("em", 10))[0]?.status === "applied", 10_000)).toBe(true);
      await b.stop();
      await operator.close();
    }, 60_000);

    test("bad input is a ConfigError naming the option", async () => {
      const store = await openStore(backend.fresh());
      expect(await rejection(requestEmergencyRollback(store, ""))).toMatchObject({ _tag: "ConfigError", option: "rolloutId" });
      expect(await rejection(requestEmergencyRollback(store, "em", { reason: "" }))).toMatchObject({ _tag: "ConfigError", option: "reason" });
      expect(await rejection(requestEmergencyRollback(store, "em", { bogus: 1 } as never))).toMatchObject({ _tag: "ConfigError", option: "bogus" });
      // Nothing was queued or written.
      expect([await store.commands.list("em", 10), await store.flags.changes()]).toEqual([[], []]);
      await store.close();
    });
  });
}
