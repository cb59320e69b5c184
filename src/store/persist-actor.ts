/**
 * persistActor: an XState actor whose every event is journaled in the store
 * before it is applied, with a snapshot every N events and at stop, so it
 * survives a crash of its process and can be replayed to any earlier point.
 *
 * @module
 */
import type { Actor, AnyStateMachine, EventFromLogic, SnapshotFrom } from "xstate";
import { option, positiveInt, refuseUnknown, required, type Rule } from "../config.ts";
import { ConfigError, StoreError } from "../errors.ts";
import { type ActorIdentity, asJson, rebuild, startActor } from "./replay.ts";
import { storeRule } from "./store.ts";
import type { JournalEvent } from "./tables/journal.ts";

/** Options of persistActor. */
export interface PersistOptions extends ActorIdentity {
  /** Write a snapshot after this many events. Default: 100. */
  readonly snapshotEvery?: number;
  /** The clock stamped on journal entries and snapshots (epoch ms). Default: `Date.now`. */
  readonly now?: () => number;
}

/** How a persisted actor came to be. */
export interface RestoreInfo {
  /** "created": nothing was stored; "restored": from a snapshot and the journal after it. */
  readonly kind: "created" | "restored";
  /** The snapshot it started from, or null. */
  readonly snapshotSeq: number | null;
  /** Journal entries applied on top of that snapshot. */
  readonly replayed: number;
}

/** An actor journaled in the store. */
export interface PersistedActor<TMachine extends AnyStateMachine> {
  readonly actorId: string;
  /** The last journaled event's sequence number (0: none yet). */
  readonly seq: number;
  /** How it was created or restored. */
  readonly restore: RestoreInfo;
  /** The live actor, to read and subscribe to; send through `send`, never to it directly. */
  readonly actor: Actor<TMachine>;
  /** The current state. */
  getSnapshot(): SnapshotFrom<TMachine>;
  /** Journal the event, then apply it; resolves with the state after it. Rejects (and applies nothing) if the journal write fails. */
  send(event: EventFromLogic<TMachine>): Promise<SnapshotFrom<TMachine>>;
  /** Write a snapshot now, after the events already sent. */
  snapshot(): Promise<void>;
  /** Wait for the events already sent, write a final snapshot and stop the actor. Safe to repeat. */
  stop(): Promise<void>;
}

const clock: Rule<() => number> = { is: (v): v is () => number => typeof v === "function", allowed: "a function returning epoch milliseconds" };

/**
 * Create an actor, or restore it from the store: the latest snapshot, then
 * the journal entries after it (applied without re-running effects, so the
 * owner reconciles from the restored state). A snapshot written by another
 * `machineVersion` is refused with a MachineVersionError unless
 * `migrations` has a function for the stored version.
 *
 * One process writes an actor at a time: a second writer's journal append
 * fails with a StoreError "conflict".
 *
 * @example
 * ```ts
 * import { openStore, persistActor } from "molt";
 * import { BREAKER_MACHINE_VERSION, breakerMachine } from "molt/machines";
 * const store = await openStore(":memory:");
 * const options = { actorId: "breaker:v2", machineVersion: BREAKER_MACHINE_VERSION, store, input: { breakerId: "v2" } };
 * const first = await persistActor(breakerMachine, options);
 * await first.send({ type: "breaker.opened", now: 1000 });
 * await first.stop();
 * const again = await persistActor(breakerMachine, options);
 * console.log(again.getSnapshot().value, again.seq); // open 1
 * await again.stop();
 * await store.close();
 * ```
 */
export async function persistActor<TMachine extends AnyStateMachine>(machine: TMachine, options: PersistOptions): Promise<PersistedActor<TMachine>> {
  refuseUnknown("persistActor", options, ["actorId", "machineVersion", "store", "input", "migrations", "snapshotEvery", "now"]);
  if (typeof options.actorId !== "string" || options.actorId.length === 0) {
    throw new ConfigError({ owner: "persistActor", option: "actorId", received: options.actorId, allowed: "a non-empty string" });
  }
  const v = options.machineVersion;
  if (!(typeof v === "string" && v.length > 0) && !(typeof v === "number" && Number.isInteger(v) && v >= 0)) {
    throw new ConfigError({ owner: `persistActor "${options.actorId}"`, option: "machineVersion", received: v, allowed: "a non-empty string or a non-negative integer" });
  }
  const owner = `persistActor "${options.actorId}"`;
  required(owner, "store", options.store, storeRule);
  const snapshotEvery = option(owner, "snapshotEvery", options.snapshotEvery, positiveInt, 100);
  const now = option(owner, "now", options.now, clock, Date.now);

  const base = await options.store.snapshots.latest(options.actorId);
  const rebuilt = await rebuild(machine, options, base, undefined);
  const fresh = base === undefined && rebuilt.replayed === 0;
  const actor = startActor(machine, fresh ? undefined : rebuilt.persisted, options.input);
  // The initial snapshot makes "replay from the start" possible without the input;
  // one after a replay or a migration spares the next restore from repeating it.
  const current = base !== undefined && rebuilt.replayed === 0 && base.machineVersion === String(v);
  const persisted = new Persisted(machine, actor, options, String(v), snapshotEvery, now, rebuilt.seq, current ? rebuilt.seq : -1, {
    kind: fresh ? "created" : "restored",
    snapshotSeq: base?.seq ?? null,
    replayed: rebuilt.replayed,
  });
  if (!current) await persisted.snapshot();
  return persisted;
}

class Persisted<TMachine extends AnyStateMachine> implements PersistedActor<TMachine> {
  readonly actorId: string;
  private tail: Promise<unknown> = Promise.resolve();
  private stopped: Promise<void> | null = null;

  constructor(
    private readonly machine: TMachine,
    readonly actor: Actor<TMachine>,
    private readonly o: PersistOptions,
    private readonly machineVersion: string,
    private readonly snapshotEvery: number,
    private readonly now: () => number,
    public seq: number,
    private snapshotSeq: number,
    readonly restore: RestoreInfo,
  ) {
    this.actorId = o.actorId;
  }

  getSnapshot(): SnapshotFrom<TMachine> {
    return this.actor.getSnapshot() as SnapshotFrom<TMachine>;
  }

  send(event: EventFromLogic<TMachine>): Promise<SnapshotFrom<TMachine>> {
    return this.serial(async () => {
      if (this.stopped !== null) {
        const { backend, location } = this.o.store;
        throw new StoreError({ backend, operation: "send", failure: "closed", url: location, reason: `actor ${this.actorId} is stopped; ${(event as { type: string }).type} was not applied` });
      }
      // The journal accepts only JSON events, so what a replay reads back is what was applied.
      const seq = this.seq + 1;
      await this.o.store.journal.append({ actorId: this.actorId, seq, event: event as JournalEvent, at: this.now() });
      this.seq = seq;
      this.actor.send(event);
      if (seq - this.snapshotSeq >= this.snapshotEvery) await this.write();
      return this.getSnapshot();
    });
  }

  snapshot(): Promise<void> {
    return this.serial(() => this.write());
  }

  stop(): Promise<void> {
    this.stopped ??= this.serial(async () => {
      try {
        if (this.seq !== this.snapshotSeq) await this.write();
      } finally {
        this.actor.stop();
      }
    });
    return this.stopped;
  }

  private async write(): Promise<void> {
    const seq = this.seq;
    await this.o.store.snapshots.save({
      actorId: this.actorId,
      seq,
      machine: this.machine.id,
      machineVersion: this.machineVersion,
      snapshot: asJson(this.actor.getPersistedSnapshot()) as never,
      at: this.now(),
    });
    this.snapshotSeq = seq;
  }

  /** Run `fn` after everything already queued; a failure rejects its own caller only. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn);
    this.tail = run.catch(() => {});
    return run;
  }
}
