/**
 * The lifecycle of one Python worker process, as a pure statechart.
 *
 * Time enters as data: every event carries `now` (ms), deadlines live in
 * context, and the host sends `clock.ticked` when `context.deadline` is
 * reached. Effects (`sendShutdown`, `terminateProcess`, `killProcess`) are
 * named actions with no implementation here; src/worker provides them.
 *
 * @module
 */
import { assign, setup } from "xstate";
import type { Leaves, PureMachine } from "./pure-machine.ts";

/** Timings and thresholds the machine judges by. */
export interface WorkerLimits {
  readonly startTimeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly shutdownGraceMs: number;
  readonly killGraceMs: number;
  readonly unhealthyAfterMisses: number;
  readonly recycleOnOverrun: boolean;
}

/** Why a worker is marked to be replaced. */
export type RecycleReason = "deadline_overrun";

/** Why a worker crashed. */
export interface WorkerFailure {
  readonly reason: "spawn_failed" | "start_timeout" | "exited" | "protocol";
  readonly detail: string;
}

/** Machine context. */
export interface WorkerContext {
  readonly workerId: string;
  readonly limits: WorkerLimits;
  readonly pid: number | null;
  /** When the host must send `clock.ticked` next, or null. */
  readonly deadline: number | null;
  readonly misses: number;
  readonly recycle: RecycleReason | null;
  readonly failure: WorkerFailure | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
}

/** Every event the worker machine accepts; all carry the time they happened. */
export type WorkerEvent =
  | { readonly type: "process.spawned"; readonly pid: number; readonly now: number }
  | { readonly type: "spawn.failed"; readonly detail: string; readonly now: number }
  | { readonly type: "hello.received"; readonly now: number }
  | { readonly type: "clock.ticked"; readonly now: number }
  | { readonly type: "heartbeat.answered"; readonly now: number }
  | { readonly type: "heartbeat.missed"; readonly now: number }
  | { readonly type: "call.overran"; readonly requestId: number; readonly now: number }
  | { readonly type: "stop.requested"; readonly now: number }
  | { readonly type: "calls.drained"; readonly now: number }
  | { readonly type: "protocol.violated"; readonly detail: string; readonly now: number }
  | {
    readonly type: "process.exited";
    readonly exitCode: number | null;
    readonly signal: string | null;
    readonly now: number;
  };

/** Input given when the actor is created. */
export interface WorkerInput {
  readonly workerId: string;
  readonly limits: WorkerLimits;
}

/**
 * The version stored beside persisted snapshots of this machine.
 *
 * @example
 * ```ts
 * import { WORKER_MACHINE_VERSION } from "molt/machines";
 * console.log(WORKER_MACHINE_VERSION); // 1
 * ```
 */
export const WORKER_MACHINE_VERSION = 1;

/** The steps of `stopping`: shutdown asked, then SIGTERM, then SIGKILL. */
export type WorkerStoppingState = "shuttingDown" | "terminating" | "killing";

/** The worker machine's type, written out (tsc checks it against {@link workerMachine}). */
export type WorkerMachine = PureMachine<{
  context: WorkerContext;
  events: WorkerEvent;
  input: WorkerInput;
  actions: Record<
    | "recordPid"
    | "setStartDeadline"
    | "setDrainDeadline"
    | "setShutdownDeadline"
    | "setKillDeadline"
    | "clearDeadline"
    | "countMiss"
    | "resetMisses"
    | "markOverrun"
    | "recordExit"
    | "recordFailure"
    | "sendShutdown"
    | "terminateProcess"
    | "killProcess",
    unknown
  >;
  guards: Record<"deadlinePassed" | "missLimitReached" | "recycleOnOverrun" | "notMarkedForRecycle", unknown>;
  value: Exclude<WorkerState, "stopping"> | { stopping: WorkerStoppingState };
  schema: {
    id: "worker";
    states: Leaves<Exclude<WorkerState, "stopping">> & { readonly stopping: { states: Leaves<WorkerStoppingState> } };
  };
}>;

/**
 * The worker lifecycle: spawning → handshaking → ready ⇄ degraded →
 * draining → stopping → exited, with crashed for every unexpected end.
 *
 * @example
 * ```ts
 * import { createActor } from "xstate";
 * import { workerMachine } from "molt/machines";
 * const limits = { startTimeoutMs: 1000, drainTimeoutMs: 1000, shutdownGraceMs: 1000, killGraceMs: 1000, unhealthyAfterMisses: 2, recycleOnOverrun: true };
 * const actor = createActor(workerMachine, { input: { workerId: "w1", limits } }).start();
 * actor.send({ type: "process.spawned", pid: 42, now: 1 });
 * actor.send({ type: "hello.received", now: 20 });
 * console.log(actor.getSnapshot().value); // ready
 * actor.stop();
 * ```
 */
export const workerMachine: WorkerMachine = setup({
  types: {
    context: {} as WorkerContext,
    events: {} as WorkerEvent,
    input: {} as WorkerInput,
  },
  guards: {
    deadlinePassed: ({ context, event }) => context.deadline !== null && event.now >= context.deadline,
    missLimitReached: ({ context }) => context.misses + 1 >= context.limits.unhealthyAfterMisses,
    recycleOnOverrun: ({ context }) => context.limits.recycleOnOverrun,
    notMarkedForRecycle: ({ context }) => context.recycle === null,
  },
  actions: {
    recordPid: assign(({ event }) => ({ pid: event.type === "process.spawned" ? event.pid : null })),
    setStartDeadline: assign(({ context, event }) => ({ deadline: event.now + context.limits.startTimeoutMs })),
    setDrainDeadline: assign(({ context, event }) => ({ deadline: event.now + context.limits.drainTimeoutMs })),
    setShutdownDeadline: assign(({ context, event }) => ({ deadline: event.now + context.limits.shutdownGraceMs })),
    setKillDeadline: assign(({ context, event }) => ({ deadline: event.now + context.limits.killGraceMs })),
    clearDeadline: assign({ deadline: null }),
    countMiss: assign(({ context }) => ({ misses: context.misses + 1 })),
    resetMisses: assign({ misses: 0 }),
    markOverrun: assign({ recycle: "deadline_overrun" as const }),
    recordExit: assign(({ event }) =>
      event.type === "process.exited" ? { exitCode: event.exitCode, signal: event.signal } : {}
    ),
    recordFailure: assign(({ context, event }) => {
      if (context.failure !== null) return {};
      switch (event.type) {
        case "spawn.failed":
          return { failure: { reason: "spawn_failed" as const, detail: event.detail } };
        case "protocol.violated":
          return { failure: { reason: "protocol" as const, detail: event.detail } };
        case "clock.ticked":
          return { failure: { reason: "start_timeout" as const, detail: `no hello within ${context.limits.startTimeoutMs} ms` } };
        case "process.exited":
          return { failure: { reason: "exited" as const, detail: event.signal ?? `exit code ${event.exitCode}` } };
        default:
          return {};
      }
    }),
    sendShutdown: () => {},
    terminateProcess: () => {},
    killProcess: () => {},
  },
}).createMachine({
  id: "worker",
  context: ({ input }) => ({
    workerId: input.workerId,
    limits: input.limits,
    pid: null,
    deadline: null,
    misses: 0,
    recycle: null,
    failure: null,
    exitCode: null,
    signal: null,
  }),
  initial: "spawning",
  states: {
    spawning: {
      on: {
        "process.spawned": { target: "handshaking", actions: ["recordPid", "setStartDeadline"] },
        "spawn.failed": { target: "crashed", actions: "recordFailure" },
      },
    },
    handshaking: {
      on: {
        "hello.received": { target: "ready", actions: "clearDeadline" },
        "clock.ticked": { guard: "deadlinePassed", target: "crashed", actions: ["recordFailure", "killProcess"] },
        "protocol.violated": { target: "crashed", actions: ["recordFailure", "killProcess"] },
        "process.exited": { target: "crashed", actions: ["recordExit", "recordFailure"] },
        "stop.requested": { target: "stopping" },
      },
    },
    ready: {
      on: {
        "heartbeat.missed": [
          { guard: "missLimitReached", target: "degraded", actions: "countMiss" },
          { actions: "countMiss" },
        ],
        "heartbeat.answered": { actions: "resetMisses" },
        "call.overran": { guard: "recycleOnOverrun", target: "degraded", actions: "markOverrun" },
        "stop.requested": { target: "draining" },
        "protocol.violated": { target: "crashed", actions: ["recordFailure", "killProcess"] },
        "process.exited": { target: "crashed", actions: ["recordExit", "recordFailure"] },
      },
    },
    degraded: {
      on: {
        "heartbeat.missed": { actions: "countMiss" },
        "heartbeat.answered": [
          { guard: "notMarkedForRecycle", target: "ready", actions: "resetMisses" },
          { actions: "resetMisses" },
        ],
        "call.overran": { guard: "recycleOnOverrun", actions: "markOverrun" },
        "stop.requested": { target: "draining" },
        "protocol.violated": { target: "crashed", actions: ["recordFailure", "killProcess"] },
        "process.exited": { target: "crashed", actions: ["recordExit", "recordFailure"] },
      },
    },
    draining: {
      entry: "setDrainDeadline",
      on: {
        "calls.drained": { target: "stopping" },
        "clock.ticked": { guard: "deadlinePassed", target: "stopping" },
        "protocol.violated": { target: "crashed", actions: ["recordFailure", "killProcess"] },
        "process.exited": { target: "crashed", actions: ["recordExit", "recordFailure"] },
      },
    },
    stopping: {
      initial: "shuttingDown",
      on: {
        "process.exited": { target: "exited", actions: "recordExit" },
        "protocol.violated": { target: ".killing" },
      },
      states: {
        shuttingDown: {
          entry: ["setShutdownDeadline", "sendShutdown"],
          on: { "clock.ticked": { guard: "deadlinePassed", target: "terminating" } },
        },
        terminating: {
          entry: ["setKillDeadline", "terminateProcess"],
          on: { "clock.ticked": { guard: "deadlinePassed", target: "killing" } },
        },
        killing: { entry: ["clearDeadline", "killProcess"] },
      },
    },
    exited: { type: "final", entry: "clearDeadline" },
    crashed: { type: "final", entry: "clearDeadline" },
  },
});

/** The states of a worker, flattened to one word. */
export type WorkerState =
  | "spawning"
  | "handshaking"
  | "ready"
  | "degraded"
  | "draining"
  | "stopping"
  | "exited"
  | "crashed";
