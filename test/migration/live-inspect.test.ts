import { describe, expect, test } from "bun:test";
import { createInspector, type StatelyInspectionEvent } from "@statelyai/inspect";
import { inspectLive, openStore, persistActor } from "molt";
import { DEFAULT_PLAN, MIGRATION_MACHINE_VERSION, migrationMachine, ROLLOUT_MACHINE_VERSION, rolloutMachine } from "molt/machines";

const until = async (check: () => boolean, ms = 5000) => {
  for (const end = Date.now() + ms; !check();) {
    if (Date.now() > end) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
};

describe("inspectLive", () => {
  test("announces each machine with its current state, then reports every event the controller records with the state after it", async () => {
    const store = await openStore(":memory:");
    const migration = await persistActor(migrationMachine, { actorId: "migration:m1", machineVersion: MIGRATION_MACHINE_VERSION, store, input: { migrationId: "m1" } });
    await migration.send({ type: "migration.started", now: 1 });
    await migration.send({ type: "phase.succeeded", phase: "preflight", now: 2 });

    const seen: StatelyInspectionEvent[] = [];
    const inspector = createInspector({ send: (e) => void seen.push(e) });
    const stop = new AbortController();
    const watching = inspectLive({ store, migrationId: "m1", inspect: inspector.inspect, signal: stop.signal, intervalMs: 20 });
    try {
      await until(() => seen.some((e) => e.type === "@xstate.actor"));
      const announced = seen.find((e) => e.type === "@xstate.actor")!;
      expect(announced.type === "@xstate.actor" && announced.name).toBe("migration:m1");
      expect(announced.type === "@xstate.actor" && JSON.parse(announced.definition!).id).toBe("migration");
      // The state the store holds now, not the start: both earlier events are already applied.
      expect(announced.type === "@xstate.actor" && announced.snapshot.value).toBe("backup");
      // XState's own start event aside, nothing is reported as happening now that happened before.
      expect(seen.filter((e) => e.type === "@xstate.event" && e.event.type !== "xstate.init")).toEqual([]);

      await migration.send({ type: "phase.failed", phase: "backup", now: 3, reason: "disk full" });
      await until(() => seen.some((e) => e.type === "@xstate.snapshot" && (e.snapshot as { value?: unknown }).value === "rollingBack"));
      const event = seen.find((e) => e.type === "@xstate.event" && e.event.type !== "xstate.init")!;
      expect(event.type === "@xstate.event" && event.event).toEqual({ type: "phase.failed", phase: "backup", now: 3, reason: "disk full" });

      // A machine that appears later (the rollout starts after the migration) is announced when it does.
      const rollout = await persistActor(rolloutMachine, { actorId: "rollout:m1", machineVersion: ROLLOUT_MACHINE_VERSION, store, input: { rolloutId: "m1", plan: DEFAULT_PLAN } });
      await until(() => seen.some((e) => e.type === "@xstate.actor" && e.name === "rollout:m1"));
      await rollout.send({ type: "rollout.started", now: 10 });
      await until(() => seen.some((e) => e.type === "@xstate.snapshot" && e.event.type === "rollout.started"));
      expect(seen.filter((e) => e.type === "@xstate.actor").map((e) => e.type === "@xstate.actor" && e.name)).toEqual(["migration:m1", "rollout:m1"]);
      await rollout.stop();
    } finally {
      stop.abort();
      await watching;
      await migration.stop();
      await store.close();
    }
  });

  test("resolves when aborted, and refuses a watch with no way to end it", async () => {
    const store = await openStore(":memory:");
    try {
      const stop = new AbortController();
      const watching = inspectLive({ store, migrationId: "none", inspect: () => {}, signal: stop.signal, intervalMs: 10_000 });
      stop.abort();
      await watching;
      await expect(inspectLive({ store, migrationId: "m1", inspect: () => {} } as never)).rejects.toThrow(/inspectLive: signal must be an AbortSignal, received undefined/);
      await expect(inspectLive({ store, migrationId: "m1", inspect: 5, signal: stop.signal } as never)).rejects.toThrow(/inspect must be a function or an observer/);
      await expect(inspectLive({ store, migrationId: "m1", inspect: () => {}, signal: stop.signal, intervalMs: -1 })).rejects.toThrow(/intervalMs must be/);
    } finally {
      await store.close();
    }
  });
});
