/**
 * A pool's lifecycle as a pure statechart: starting until `minReady` workers
 * are ready, then serving; degraded from the loss of a worker until the pool
 * is back at its target size; draining once asked to stop; stopped when
 * every worker is gone.
 * Worker counts enter as data on `workers.changed`; src/pool sends it.
 *
 * @module
 */
import { assign, setup } from "xstate";
import type { Leaves, PureMachine } from "./pure-machine.ts";

/** Machine context. */
export interface PoolContext {
  readonly poolName: string;
  readonly minReady: number;
  readonly ready: number;
  readonly target: number;
  readonly changedAt: number | null;
  /** Why the pool could not start, or null. */
  readonly failure: string | null;
}

/** Every event the pool machine accepts; all carry the time they happened. */
export type PoolEvent =
  | { readonly type: "workers.changed"; readonly ready: number; readonly target: number; readonly now: number }
  | { readonly type: "start.failed"; readonly detail: string; readonly now: number }
  | { readonly type: "drain.requested"; readonly now: number }
  | { readonly type: "workers.stopped"; readonly now: number };

/** The input a pool actor is created with. */
export interface PoolInput {
  readonly poolName: string;
  readonly minReady: number;
  readonly target: number;
}

/** The pool machine's type, written out (tsc checks it against {@link poolMachine}). */
export type PoolMachine = PureMachine<{
  context: PoolContext;
  events: PoolEvent;
  input: PoolInput;
  actions: Record<"count" | "recordFailure" | "recordChange", unknown>;
  guards: Record<"enoughToServe" | "allReady" | "workerLost", unknown>;
  value: PoolState;
  schema: { id: "pool"; states: Leaves<PoolState> };
}>;

/**
 * starting → serving ⇄ degraded → draining → stopped.
 *
 * @example
 * ```ts
 * import { createActor } from "xstate";
 * import { poolMachine } from "molt/machines";
 * const actor = createActor(poolMachine, { input: { poolName: "v2", minReady: 1, target: 2 } }).start();
 * actor.send({ type: "workers.changed", ready: 1, target: 2, now: 10 });
 * console.log(actor.getSnapshot().value); // serving
 * actor.send({ type: "workers.changed", ready: 2, target: 2, now: 20 });
 * actor.send({ type: "workers.changed", ready: 1, target: 2, now: 30 });
 * console.log(actor.getSnapshot().value); // degraded
 * ```
 */
export const poolMachine: PoolMachine = setup({
  types: {
    context: {} as PoolContext,
    events: {} as PoolEvent,
    input: {} as PoolInput,
  },
  guards: {
    enoughToServe: ({ context, event }) => event.type === "workers.changed" && event.ready >= context.minReady,
    allReady: ({ event }) => event.type === "workers.changed" && event.ready >= event.target,
    workerLost: ({ context, event }) =>
      event.type === "workers.changed" && event.ready < event.target && event.ready < context.ready,
  },
  actions: {
    count: assign({
      ready: ({ context, event }) => (event.type === "workers.changed" ? event.ready : context.ready),
      target: ({ context, event }) => (event.type === "workers.changed" ? event.target : context.target),
      changedAt: ({ event }) => event.now,
    }),
    recordFailure: assign({
      failure: ({ context, event }) => (event.type === "start.failed" ? event.detail : context.failure),
      changedAt: ({ event }) => event.now,
    }),
    recordChange: assign({ changedAt: ({ event }) => event.now }),
  },
}).createMachine({
  id: "pool",
  initial: "starting",
  context: ({ input }) => ({ poolName: input.poolName, minReady: input.minReady, ready: 0, target: input.target, changedAt: null, failure: null }),
  states: {
    starting: {
      on: {
        "workers.changed": [{ guard: "enoughToServe", target: "serving", actions: "count" }, { actions: "count" }],
        "start.failed": { target: "draining", actions: "recordFailure" },
        "drain.requested": { target: "draining", actions: "recordChange" },
      },
    },
    serving: {
      on: {
        "workers.changed": [{ guard: "workerLost", target: "degraded", actions: "count" }, { actions: "count" }],
        "drain.requested": { target: "draining", actions: "recordChange" },
      },
    },
    degraded: {
      on: {
        "workers.changed": [{ guard: "allReady", target: "serving", actions: "count" }, { actions: "count" }],
        "drain.requested": { target: "draining", actions: "recordChange" },
      },
    },
    draining: {
      on: {
        "workers.changed": { actions: "count" },
        "workers.stopped": { target: "stopped", actions: "recordChange" },
      },
    },
    stopped: { type: "final" },
  },
});

/**
 * The pool machine's version, stored beside persisted snapshots.
 *
 * @example
 * ```ts
 * import { POOL_MACHINE_VERSION } from "molt/machines";
 * console.log(POOL_MACHINE_VERSION); // 1
 * ```
 */
export const POOL_MACHINE_VERSION = 1;

/** The pool's states. */
export type PoolState = "starting" | "serving" | "degraded" | "draining" | "stopped";
