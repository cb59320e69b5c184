/**
 * Watching a running migration's machines in a statechart inspector from
 * another process. The controller's actors live in its own process; what
 * crosses over is the store, so the watcher rebuilds each actor there
 * (effects silenced, as replay does), then applies every journal entry the
 * controller appends. XState reports each as it would for a local actor:
 * `@xstate.actor` with the current state and the machine's definition, then
 * `@xstate.event` and `@xstate.snapshot` per applied event.
 *
 * @module
 */
import type { Actor, AnyStateMachine, InspectionEvent, Observer } from "xstate";
import { MIGRATION_MACHINE_VERSION, migrationMachine } from "../../machines/migration.ts";
import { ROLLOUT_MACHINE_VERSION, rolloutMachine } from "../../machines/rollout.ts";
import { ConfigError } from "../errors.ts";
import { idRule, option, positiveDuration, refuseUnknown, required, type Rule } from "../config.ts";
import { sleepUnless } from "../sleep.ts";
import { replay, silenced, startActor } from "../store/replay.ts";
import { type Store, storeRule } from "../store/store.ts";

/** Options of {@link inspectLive}. */
export interface InspectLiveOptions {
  readonly store: Store;
  /** The migration (and its rollout, which shares the id). */
  readonly migrationId: string;
  /** Receives XState's inspection events: a function, or an observer such as `createInspector(adapter).inspect` from @statelyai/inspect. */
  readonly inspect: Observer<InspectionEvent> | ((event: InspectionEvent) => void);
  /** Ends the watch; required, since a watch has no end of its own. */
  readonly signal: AbortSignal;
  /** How often the store is read. Default: 500 ms. */
  readonly intervalMs?: number;
}

const signalRule: Rule<AbortSignal> = { is: (v): v is AbortSignal => v instanceof AbortSignal, allowed: "an AbortSignal" };

interface Followed {
  readonly actorId: string;
  readonly machine: AnyStateMachine;
  readonly version: string | number;
  readonly input: unknown;
  actor: Actor<AnyStateMachine> | null;
  seq: number;
}

/**
 * Stream the inspection events of a migration's machines (`migration:<id>`
 * and `rollout:<id>`) from its store until `signal` aborts: each machine
 * is announced when it first appears in the store, with its current state,
 * and each event the controller records is reported with the state after it.
 * Resolves when aborted; a store error rejects.
 *
 * @example
 * ```ts
 * import { inspectLive, openStore } from "molt";
 * import { createInspector } from "@statelyai/inspect";
 * const store = await openStore(":memory:");
 * const inspector = createInspector({ send: (e) => console.log(e.type) });
 * await inspectLive({ store, migrationId: "m1", inspect: inspector.inspect, signal: AbortSignal.timeout(100) });
 * await store.close();
 * ```
 */
export async function inspectLive(options: InspectLiveOptions): Promise<void> {
  refuseUnknown("inspectLive", options, ["store", "migrationId", "inspect", "signal", "intervalMs"]);
  const owner = "inspectLive";
  const store = required(owner, "store", options.store, storeRule);
  const id = required(owner, "migrationId", options.migrationId, idRule);
  const signal = required(owner, "signal", options.signal, signalRule);
  const intervalMs = option(owner, "intervalMs", options.intervalMs, positiveDuration, 500);
  const inspect = options.inspect;
  if (typeof inspect !== "function" && (typeof inspect !== "object" || inspect === null)) {
    throw new ConfigError({ owner, option: "inspect", received: inspect, allowed: "a function or an observer with next()" });
  }
  const followed: Followed[] = [
    { actorId: `migration:${id}`, machine: silenced(migrationMachine), version: MIGRATION_MACHINE_VERSION, input: { migrationId: id }, actor: null, seq: 0 },
    { actorId: `rollout:${id}`, machine: silenced(rolloutMachine), version: ROLLOUT_MACHINE_VERSION, input: undefined, actor: null, seq: 0 },
  ];
  // The actors are not stopped at the end: that would report the machines as stopped, which only the watch is.
  // Silenced and without timers, they hold nothing once dropped.
  while (!signal.aborted) {
    for (const f of followed) await follow(store, f, inspect);
    await sleepUnless(intervalMs, signal);
  }
}

/** Bring one actor up to the store's latest entry, announcing it first if it is new. */
async function follow(store: Store, f: Followed, inspect: InspectLiveOptions["inspect"]): Promise<void> {
  if (f.actor !== null) {
    // The journal is numbered without gaps (a second writer's append fails), so entries after f.seq follow on.
    for (const entry of await store.journal.read(f.actorId, { afterSeq: f.seq })) {
      f.actor.send(entry.event as never);
      f.seq = entry.seq;
    }
    return;
  }
  const exists = (await store.journal.lastSeq(f.actorId)) > 0 || (await store.snapshots.latest(f.actorId)) !== undefined;
  if (!exists) return;
  const rebuilt = await replay(f.machine, { actorId: f.actorId, machineVersion: f.version, store, input: f.input });
  f.actor = startActor(f.machine, rebuilt.persisted, f.input, { id: f.actorId, inspect });
  f.seq = rebuilt.seq;
}
