/**
 * A pool's breaker machine persisted in the store (actor `breaker:<pool>`):
 * every state change is journaled, and a restarted pool's cockatiel breaker
 * starts from the state stored with the last change.
 *
 * @module
 */
import { BREAKER_MACHINE_VERSION, breakerMachine, type BreakerState } from "../../machines/breaker.ts";
import { persistActor } from "../store/persist-actor.ts";
import type { Store } from "../store/store.ts";
import { type BreakerRecord, restorableState } from "./breaker.ts";

/** A restored breaker machine and what the cockatiel breaker starts from. */
export interface PersistedBreaker {
  /** cockatiel's stored state, or undefined to start closed. */
  readonly initialState: unknown;
  /** The record a PoolBreaker feeds; `failed` hears of store writes that did not land, so a pool never fails for its store. */
  record(failed: (operation: "breaker.record" | "breaker.snapshot", error: unknown) => void): BreakerRecord;
}

/** The actor id of a pool's breaker machine. */
const breakerActorId = (pool: string): string => `breaker:${pool}`;

/** Restore (or create) the breaker machine of `pool` from `store`. */
export async function persistedBreaker(pool: string, store: Store): Promise<PersistedBreaker> {
  const actor = await persistActor(breakerMachine, {
    actorId: breakerActorId(pool),
    machineVersion: BREAKER_MACHINE_VERSION,
    store,
    input: { breakerId: pool },
  });
  const initialState = restorableState(actor.getSnapshot().context.saved);
  return {
    initialState,
    record: (failed) => ({
      // Where cockatiel starts elsewhere (an isolation is not restored), the breaker feeds the difference.
      state: actor.getSnapshot().value as BreakerState,
      record: (event) => void actor.send(event).catch((e) => failed("breaker.record", e)),
      stop: () => actor.stop().catch((e) => failed("breaker.snapshot", e)),
    }),
  };
}
