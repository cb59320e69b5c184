/**
 * Persisted actors: journal before apply, snapshots every N events and at
 * stop, restore from snapshot + journal without re-running effects, replay to
 * any point, and refusal of another machine version's snapshot.
 */
import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { createActor } from "xstate";
import { openStore, persistActor, replay, type Store } from "../../mod.ts";
import { ledgerMachine, type LedgerEvent } from "../fixtures/ledger-machine.ts";
import { rejection } from "../helpers.ts";

const input = { owner: "ops" };

function counted(): { machine: typeof ledgerMachine; notified: () => number } {
  let n = 0;
  return { machine: ledgerMachine.provide({ actions: { notify: () => void n++ } }), notified: () => n };
}

const persist = (store: Store, extra: Record<string, unknown> = {}) =>
  persistActor(counted().machine, { actorId: "ledger-1", machineVersion: 1, store, input, now: () => 42, ...extra });

describe("persistActor", () => {
  test("every event is journaled with its sequence number and time before it is applied", async () => {
    const store = await openStore(":memory:");
    const ledger = await persist(store, { snapshotEvery: 2 });
    expect(ledger.restore).toEqual({ kind: "created", snapshotSeq: null, replayed: 0 });
    const seen: number[] = [];
    ledger.actor.subscribe(() => seen.push(0));
    const journaledFirst = store.journal.lastSeq("ledger-1");
    const after = await ledger.send({ type: "ledger.added", amount: 5, now: 1 });
    expect(await journaledFirst).toBe(0);
    expect(after.context.total).toBe(5);
    await ledger.send({ type: "ledger.added", amount: 7, now: 2 });
    await ledger.send({ type: "ledger.paused", now: 3 });
    expect((await store.journal.read("ledger-1")).map((e) => [e.seq, e.event.type, e.at])).toEqual([
      [1, "ledger.added", 42], [2, "ledger.added", 42], [3, "ledger.paused", 42],
    ]);
    // The initial snapshot, then one every 2 events.
    expect((await store.snapshots.list("ledger-1")).map((s) => s.seq)).toEqual([0, 2]);
    await ledger.stop();
    await ledger.stop();
    expect((await store.snapshots.list("ledger-1")).map((s) => s.seq)).toEqual([0, 2, 3]);
    const late = await rejection(ledger.send({ type: "ledger.resumed", now: 4 }));
    expect([late._tag, late.failure]).toEqual(["StoreError", "closed"]);
    expect(await store.journal.lastSeq("ledger-1")).toBe(3);
    await store.close();
  });

  test("restore = latest snapshot + the journal after it, without re-running effects", async () => {
    const store = await openStore(":memory:");
    const first = counted();
    const ledger = await persistActor(first.machine, { actorId: "ledger-1", machineVersion: 1, store, input, snapshotEvery: 4 });
    for (let i = 1; i <= 6; i++) await ledger.send({ type: "ledger.added", amount: i, now: i });
    expect(first.notified()).toBe(6);
    // No stop(): the process "died" after event 6, with the last snapshot at 4.
    const second = counted();
    const again = await persistActor(second.machine, { actorId: "ledger-1", machineVersion: 1, store, input, snapshotEvery: 4 });
    expect(again.restore).toEqual({ kind: "restored", snapshotSeq: 4, replayed: 2 });
    expect(again.seq).toBe(6);
    expect(again.getSnapshot().context.total).toBe(21);
    expect(second.notified()).toBe(0);
    await again.send({ type: "ledger.added", amount: 1, now: 7 });
    expect(second.notified()).toBe(1);
    await again.stop();
    await store.close();
  });

  test("a failed journal write applies nothing; a non-JSON event is refused", async () => {
    const store = await openStore(":memory:");
    const ledger = await persist(store);
    await ledger.send({ type: "ledger.added", amount: 1, now: 1 });
    const bad = await rejection(ledger.send({ type: "ledger.added", amount: Number.NaN, now: 2 }));
    expect([bad._tag, bad.table, bad.direction]).toEqual(["StoreRowError", "journal", "write"]);
    expect([ledger.seq, ledger.getSnapshot().context.count]).toEqual([1, 1]);
    await ledger.send({ type: "ledger.added", amount: 2, now: 3 });
    expect([ledger.seq, ledger.getSnapshot().context.total]).toEqual([2, 3]);
    await store.close();
    const closed = await rejection(ledger.send({ type: "ledger.added", amount: 4, now: 4 }));
    expect([closed._tag, closed.failure]).toEqual(["StoreError", "closed"]);
    expect([ledger.seq, ledger.getSnapshot().context.total]).toEqual([2, 3]);
  });

  test("a second writer of the same actor gets a conflict", async () => {
    const store = await openStore(":memory:");
    const a = await persist(store);
    const b = await persist(store);
    await a.send({ type: "ledger.added", amount: 1, now: 1 });
    const e = await rejection(b.send({ type: "ledger.added", amount: 1, now: 1 }));
    expect([e._tag, e.failure]).toEqual(["StoreError", "conflict"]);
    await store.close();
  });

  test("a snapshot of another machine version is refused unless a migration is given", async () => {
    const store = await openStore(":memory:");
    const v1 = await persist(store);
    await v1.send({ type: "ledger.added", amount: 3, now: 1 });
    await v1.stop();
    const e = await rejection(persist(store, { machineVersion: 2 }));
    expect([e._tag, e.stored, e.expected]).toEqual(["MachineVersionError", "1", "2"]);
    expect(e.message).toContain("version 1 cannot be restored into version 2");
    const migrated = await persist(store, {
      machineVersion: 2,
      migrations: { "1": (s: unknown) => ({ ...(s as object), context: { ...(s as { context: object }).context, owner: "migrated" } }) },
    });
    expect(migrated.getSnapshot().context).toMatchObject({ owner: "migrated", total: 3 });
    await migrated.stop();
    expect((await store.snapshots.latest("ledger-1"))?.machineVersion).toBe("2");
    await store.close();
  });

  test("options are validated", async () => {
    const store = await openStore(":memory:");
    expect((await rejection(persist(store, { snapshotEvery: 0 }))).message).toBe('persistActor "ledger-1": snapshotEvery must be a positive integer, received 0');
    expect((await rejection(persist(store, { machineVersion: "" }))).option).toBe("machineVersion");
    expect((await rejection(persist(store, { actorId: "" }))).option).toBe("actorId");
    expect((await rejection(persist(store, { every: 3 }))).option).toBe("every");
    expect((await rejection(persist(store, { store: undefined }))).message).toBe('persistActor "ledger-1": store must be a Store from openStore(), received undefined');
    await store.close();
  });
});

const event: fc.Arbitrary<Omit<LedgerEvent, "now">> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 1, max: 80 }).map((amount) => ({ type: "ledger.added" as const, amount })) },
  { weight: 2, arbitrary: fc.constant({ type: "ledger.paused" as const }) },
  { weight: 2, arbitrary: fc.constant({ type: "ledger.resumed" as const }) },
  { weight: 1, arbitrary: fc.constant({ type: "ledger.closed" as const }) },
);

describe("replay", () => {
  test("property: replaying the whole journal reproduces the stored snapshot, and any prefix matches a fresh run", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(event, fc.integer({ min: 0, max: 900 })), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 7 }),
        fc.nat(),
        async (steps, snapshotEvery, pick) => {
          let now = 0;
          const events = steps.map(([e, gap]) => ({ ...e, now: (now += gap) }) as LedgerEvent);
          const store = await openStore(":memory:");
          const o = { actorId: "ledger-p", machineVersion: 1, store, input, snapshotEvery };
          const live = await persistActor(ledgerMachine, o);
          for (const e of events) await live.send(e);
          await live.stop();
          const stored = await store.snapshots.latest("ledger-p");
          const whole = await replay(ledgerMachine, { ...o, from: "start" });
          expect(whole.baseSeq).toBe(0);
          expect(whole.replayed).toBe(events.length);
          expect(whole.persisted).toEqual(stored!.snapshot);
          const untilSeq = pick % (events.length + 1);
          const fresh = createActor(ledgerMachine, { input }).start();
          for (const e of events.slice(0, untilSeq)) fresh.send(e);
          for (const from of ["start", "snapshot"] as const) {
            const at = await replay(ledgerMachine, { ...o, untilSeq, from });
            expect(at.seq).toBe(untilSeq);
            expect(at.persisted).toEqual(JSON.parse(JSON.stringify(fresh.getPersistedSnapshot())));
          }
          fresh.stop();
          await store.close();
        },
      ),
      { numRuns: 60 },
    );
  }, 60_000);
});
