/**
 * Rebuilding an actor's state from the store: a snapshot, then the journal
 * entries after it, applied with the machine's effects silenced so that
 * replaying never repeats what already happened.
 *
 * @module
 */
import { type Actor, type AnyStateMachine, createActor, type SnapshotFrom } from "xstate";
import { MachineVersionError, StoreRowError } from "../errors.ts";
import type { Store } from "./store.ts";
import type { SnapshotRecord } from "./tables/snapshots.ts";

/** Turns a persisted snapshot written by an older machine version into one the current version reads. */
export type SnapshotMigration = (persisted: unknown) => unknown;

/** What restore and replay need to know about the actor. */
export interface ActorIdentity {
  readonly actorId: string;
  readonly machineVersion: string | number;
  readonly store: Store;
  /** The machine's input, used when no snapshot exists. Default: undefined. */
  readonly input?: unknown;
  /** Migrations keyed by the stored machine version they start from. Default: none. */
  readonly migrations?: Readonly<Record<string, SnapshotMigration>>;
}

/** Options of replay. */
export interface ReplayOptions extends ActorIdentity {
  /** Rebuild the state as it was after this journal entry. Default: the last one. */
  readonly untilSeq?: number;
  /** "snapshot": start from the newest snapshot at or before `untilSeq`; "start": from the first snapshot (or the input) and the whole journal. Default: "snapshot". */
  readonly from?: "snapshot" | "start";
}

/** A rebuilt state. */
export interface Rebuilt<TMachine extends AnyStateMachine> {
  /** The last journal entry it includes (0: none). */
  readonly seq: number;
  /** The snapshot it started from, or null if it started from the input. */
  readonly baseSeq: number | null;
  /** How many journal entries were applied on top of the base. */
  readonly replayed: number;
  /** The state, as XState gives it. */
  readonly state: SnapshotFrom<TMachine>;
  /** The state in its persisted (JSON) form, as stored in `machine_snapshots`. */
  readonly persisted: unknown;
}

const isBuiltIn = (action: unknown): boolean => typeof (action as { type?: unknown }).type === "string" && String((action as { type: string }).type).startsWith("xstate.");

/** The machine with every effect (named action that is not an XState built-in) replaced by nothing. */
export function silenced<TMachine extends AnyStateMachine>(machine: TMachine): TMachine {
  const actions = Object.entries(machine.implementations.actions ?? {})
    .filter(([, action]) => !isBuiltIn(action))
    .map(([name]) => [name, () => {}]);
  return machine.provide({ actions: Object.fromEntries(actions) }) as TMachine;
}

/** A persisted snapshot as JSON carries it: what is stored is exactly what is restored. */
export function asJson(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value));
}

/** Create and start an actor from a persisted snapshot, or from the input when there is none; `extra` carries createActor's other options (id, inspect). */
export function startActor<TMachine extends AnyStateMachine>(machine: TMachine, snapshot: unknown, input: unknown, extra: object = {}): Actor<TMachine> {
  // createActor's options type depends on whether the machine requires input; both shapes are valid here.
  const create = createActor as (m: TMachine, o: object) => Actor<TMachine>;
  return create(machine, snapshot === undefined ? { ...extra, input } : { ...extra, snapshot, input }).start();
}

function version(v: string | number): string {
  return String(v);
}

/** The stored snapshot's content, migrated to the current version or refused. */
function acceptSnapshot(record: SnapshotRecord, machine: AnyStateMachine, o: ActorIdentity): unknown {
  const expected = version(o.machineVersion);
  if (record.machine !== machine.id) {
    throw new MachineVersionError({ actorId: o.actorId, machine: record.machine, stored: `${record.machine}@${record.machineVersion}`, expected: `${machine.id}@${expected}` });
  }
  if (record.machineVersion === expected) return record.snapshot;
  const migrate = o.migrations?.[record.machineVersion];
  if (migrate === undefined) {
    throw new MachineVersionError({ actorId: o.actorId, machine: record.machine, stored: record.machineVersion, expected });
  }
  return migrate(record.snapshot);
}

/**
 * Rebuild an actor's state from a base snapshot (or the input) and the
 * journal entries after it, up to `untilSeq`, with effects silenced.
 */
export async function rebuild<TMachine extends AnyStateMachine>(
  machine: TMachine,
  o: ActorIdentity,
  base: SnapshotRecord | undefined,
  untilSeq?: number,
): Promise<Rebuilt<TMachine>> {
  const quiet = silenced(machine);
  const snapshot = base === undefined ? undefined : acceptSnapshot(base, machine, o);
  const actor = startActor(quiet, snapshot, o.input);
  let seq = base?.seq ?? 0;
  const entries = await o.store.journal.read(o.actorId, { afterSeq: seq, untilSeq });
  for (const entry of entries) {
    if (entry.seq !== seq + 1) {
      throw new StoreRowError({ table: "journal", row: `actor_id=${o.actorId},seq=${entry.seq}`, direction: "read", issue: `expected seq ${seq + 1}: the journal has a gap` });
    }
    actor.send(entry.event as never);
    seq = entry.seq;
  }
  const state = actor.getSnapshot() as SnapshotFrom<TMachine>;
  const persisted = asJson(actor.getPersistedSnapshot());
  actor.stop();
  return { seq, baseSeq: base?.seq ?? null, replayed: entries.length, state, persisted };
}

/**
 * Rebuild the state an actor had after journal entry `untilSeq` (default:
 * its latest), without running its effects. With `from: "start"` it starts
 * from the actor's first snapshot and replays the whole journal: the result
 * then equals the stored snapshot at that point.
 *
 * @example
 * ```ts
 * import { openStore, persistActor, replay } from "molt";
 * import { BREAKER_MACHINE_VERSION, breakerMachine } from "molt/machines";
 * const store = await openStore(":memory:");
 * const o = { actorId: "breaker:v2", machineVersion: BREAKER_MACHINE_VERSION, store, input: { breakerId: "v2" } };
 * const breaker = await persistActor(breakerMachine, o);
 * await breaker.send({ type: "breaker.opened", now: 1000 });
 * await breaker.send({ type: "breaker.halfOpened", now: 6000 });
 * await breaker.stop();
 * console.log((await replay(breakerMachine, { ...o, untilSeq: 1 })).state.value); // open
 * await store.close();
 * ```
 */
export async function replay<TMachine extends AnyStateMachine>(machine: TMachine, options: ReplayOptions): Promise<Rebuilt<TMachine>> {
  const { store, actorId, untilSeq } = options;
  const base = options.from === "start"
    ? (await store.snapshots.list(actorId))[0]
    : await store.snapshots.latest(actorId, untilSeq);
  if (base !== undefined && untilSeq !== undefined && base.seq > untilSeq) {
    throw new StoreRowError({ table: "machine_snapshots", row: `actor_id=${actorId},seq=${base.seq}`, direction: "read", issue: `the earliest snapshot is after seq ${untilSeq} and the journal before it was truncated` });
  }
  return await rebuild(machine, options, base, untilSeq);
}
