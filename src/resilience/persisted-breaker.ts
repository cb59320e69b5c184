/**
 * A breaker machine persisted in the store — a pool's gate (actor
 * `breaker:<pool>`) or one of its worker positions (`breaker:<pool>#<n>`):
 * every state change is journaled, and a restarted pool's breakers start
 * from the state stored with the last change.
 *
 * @module
 */
import { BREAKER_MACHINE_VERSION, breakerMachine, type BreakerState } from "../../machines/breaker.ts";
import { persistActor } from "../store/persist-actor.ts";
import type { Store } from "../store/store.ts";
import type { BreakerRecord } from "./breaker.ts";

/** A restored breaker machine and what its breaker starts from. */
export interface PersistedBreaker {
  /** The state stored with the last change (cockatiel's, or the gate's), or undefined. */
  readonly saved: unknown;
  /** The record a PoolBreaker feeds; `failed` hears of store writes that did not land, so a pool never fails for its store. */
  record(failed: (operation: "breaker.record" | "breaker.snapshot", error: unknown) => void): BreakerRecord;
}

/** Restore (or create) the breaker machine `breaker:<breakerId>` from `store`. */
export async function persistedBreaker(breakerId: string, store: Store): Promise<PersistedBreaker> {
  const actor = await persistActor(breakerMachine, {
    actorId: `breaker:${breakerId}`,
    machineVersion: BREAKER_MACHINE_VERSION,
    store,
    input: { breakerId },
  });
  return {
    saved: actor.getSnapshot().context.saved,
    record: (failed) => ({
      // Where the breaker starts elsewhere (an isolation is not restored), it feeds the difference.
      state: actor.getSnapshot().value as BreakerState,
      record: (event) => void actor.send(event).catch((e) => failed("breaker.record", e)),
      stop: () => actor.stop().catch((e) => failed("breaker.snapshot", e)),
    }),
  };
}
