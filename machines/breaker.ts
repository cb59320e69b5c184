/**
 * A pool's circuit breaker as a pure statechart. cockatiel decides when the
 * breaker opens and closes; src/resilience feeds each of its state changes
 * here, so the breaker is visible, inspectable and persisted like every
 * other actor.
 *
 * @module
 */
import { assign, setup } from "xstate";
import type { Leaves, PureMachine } from "./pure-machine.ts";

/** Machine context. */
export interface BreakerContext {
  readonly breakerId: string;
  /** When the breaker last opened, or null if it never did. */
  readonly openedAt: number | null;
  /** How many times it opened. */
  readonly opens: number;
  readonly changedAt: number | null;
  /** cockatiel's own state (`toJSON()`) at the last change: what a restarted pool's breaker starts from. */
  readonly saved: unknown;
}

/** What every breaker event carries: when it happened and, optionally, cockatiel's state after it. */
interface Change {
  readonly now: number;
  readonly saved?: unknown;
}

/** Every event the breaker machine accepts. */
export type BreakerEvent =
  | Change & { readonly type: "breaker.opened" }
  | Change & { readonly type: "breaker.halfOpened" }
  | Change & { readonly type: "breaker.closed" }
  | Change & { readonly type: "breaker.isolated" }
  | Change & { readonly type: "breaker.released" };

/** The input a breaker actor is created with. */
export interface BreakerInput {
  readonly breakerId: string;
}

/** The breaker machine's type, written out (tsc checks it against {@link breakerMachine}). */
export type BreakerMachine = PureMachine<{
  context: BreakerContext;
  events: BreakerEvent;
  input: BreakerInput;
  actions: Record<"recordOpen" | "recordChange", unknown>;
  guards: Record<never, never>; // none
  value: BreakerState;
  schema: { id: "breaker"; states: Leaves<BreakerState> };
}>;

/**
 * closed → open → halfOpen → closed (or back to open); any state → isolated
 * by an operator, isolated → closed when released.
 *
 * @example
 * ```ts
 * import { createActor } from "xstate";
 * import { breakerMachine } from "molt/machines";
 * const actor = createActor(breakerMachine, { input: { breakerId: "v2" } }).start();
 * actor.send({ type: "breaker.opened", now: 1000 });
 * actor.send({ type: "breaker.halfOpened", now: 6000 });
 * console.log(actor.getSnapshot().value, actor.getSnapshot().context.opens); // halfOpen 1
 * ```
 */
export const breakerMachine: BreakerMachine = setup({
  types: {
    context: {} as BreakerContext,
    events: {} as BreakerEvent,
    input: {} as BreakerInput,
  },
  actions: {
    recordOpen: assign({
      openedAt: ({ event }) => event.now,
      opens: ({ context }) => context.opens + 1,
      changedAt: ({ event }) => event.now,
      saved: ({ event }) => event.saved ?? null,
    }),
    recordChange: assign({ changedAt: ({ event }) => event.now, saved: ({ event }) => event.saved ?? null }),
  },
}).createMachine({
  id: "breaker",
  initial: "closed",
  context: ({ input }) => ({ breakerId: input.breakerId, openedAt: null, opens: 0, changedAt: null, saved: null }),
  on: {
    "breaker.isolated": { target: ".isolated", actions: "recordChange" },
  },
  states: {
    closed: {
      on: { "breaker.opened": { target: "open", actions: "recordOpen" } },
    },
    open: {
      on: { "breaker.halfOpened": { target: "halfOpen", actions: "recordChange" } },
    },
    halfOpen: {
      on: {
        "breaker.closed": { target: "closed", actions: "recordChange" },
        "breaker.opened": { target: "open", actions: "recordOpen" },
      },
    },
    isolated: {
      on: { "breaker.released": { target: "closed", actions: "recordChange" } },
    },
  },
});

/**
 * The breaker machine's version, stored beside persisted snapshots. 2: context holds cockatiel's `saved` state.
 *
 * @example
 * ```ts
 * import { BREAKER_MACHINE_VERSION } from "molt/machines";
 * console.log(BREAKER_MACHINE_VERSION); // 2
 * ```
 */
export const BREAKER_MACHINE_VERSION = 2;

/** The breaker's states. */
export type BreakerState = "closed" | "open" | "halfOpen" | "isolated";
