/**
 * A staged rollout as a pure statechart, driven only by timestamped events:
 * idle → shadow → stage 1…n → promoted, with paused beside the active states
 * and rollingBack → rolledBack from anywhere a rollout is running.
 *
 * Time in a stage is counted from the events' `now`, never from timers, and
 * pause time does not count, so a restored rollout resumes its stage with the
 * elapsed time it had. The share each state stands for is `shareOf`; the
 * controller in src/rollout applies it.
 *
 * @module
 */
import { and, assign, setup, type SnapshotFrom } from "xstate";
import type { Leaves, PureMachine } from "./pure-machine.ts";

/** One stage of a plan. */
export interface Stage {
  /** The V2 share in basis points. */
  readonly weightBp: number;
  /** Time the stage must run (pauses excluded) before it may advance. */
  readonly minDurationMs: number;
  /** Calls each arm must have served in the stage before it may advance. */
  readonly minSamples: number;
}

/** A rollout plan. */
export interface RolloutPlan {
  /**
   * Shadow time before the first stage: share 0, V2 judged on the shadow
   * calls the router sends it (so shadow comparison must be on). 0 skips the
   * shadow phase.
   */
  readonly shadowMs: number;
  readonly stages: readonly Stage[];
  /** Consecutive failing judgements that roll back (a critical one always does). */
  readonly failuresToRollback: number;
  /** Consecutive inconclusive judgements that pause for an operator. */
  readonly inconclusiveToPause: number;
  /** After a rollback, how long before the rollout may start again. */
  readonly cooldownMs: number;
}

/** Machine context. */
export interface RolloutContext {
  readonly rolloutId: string;
  readonly plan: RolloutPlan;
  /** The current stage, -1 before the first. */
  readonly stage: number;
  /** Active time in the current stage (or shadow), pauses excluded. */
  readonly elapsedMs: number;
  /** When elapsed time was last brought up to date; null while paused or stopped. */
  readonly clockAt: number | null;
  /** Calls each arm served in the current stage. */
  readonly samples: { readonly v1: number; readonly v2: number };
  readonly failures: number;
  readonly inconclusive: number;
  readonly pausedAt: number | null;
  readonly pauseReason: string | null;
  readonly rollbackReason: string | null;
  readonly rollbacks: number;
  readonly cooldownUntil: number | null;
  readonly startedAt: number | null;
  readonly changedAt: number | null;
}

/** A judgement of one window, as the monitor gave it. */
export interface Judged {
  readonly type: "window.judged";
  readonly now: number;
  readonly verdict: "pass" | "fail" | "inconclusive" | "insufficient_data";
  readonly critical: boolean;
  /** Calls each arm served in the window. */
  readonly v1Calls: number;
  readonly v2Calls: number;
  /** One line of why, recorded when it leads to a rollback or pause. */
  readonly reason: string;
}

/** Every event the rollout machine accepts; all carry the time they happened. */
export type RolloutEvent =
  | { readonly type: "rollout.started"; readonly now: number }
  | Judged
  | { readonly type: "operator.paused"; readonly now: number; readonly reason: string }
  | { readonly type: "operator.resumed"; readonly now: number }
  | { readonly type: "operator.promoted"; readonly now: number }
  /** One stage on, now: from shadow to the first stage, from the last stage to promoted. */
  | { readonly type: "operator.advanced"; readonly now: number }
  | { readonly type: "rollback.requested"; readonly now: number; readonly reason: string }
  | { readonly type: "rollback.completed"; readonly now: number }
  /** The controller came back after its process stopped, or after its ticks failed long enough to hold: the time it was away does not count. */
  | { readonly type: "controller.restored"; readonly now: number };

/** The rollout's top-level states. */
export type RolloutState = "idle" | "active" | "paused" | "promoted" | "rollingBack" | "rolledBack";

/** The states inside `active`: shadow first (unless the plan has none), then the stages. */
export type RolloutActiveState = "shadow" | "stage";

/** The input a rollout actor is created with. */
export interface RolloutInput {
  readonly rolloutId: string;
  readonly plan: RolloutPlan;
}

/** The rollout machine's type, written out (tsc checks it against {@link rolloutMachine}). */
export type RolloutMachine = PureMachine<{
  context: RolloutContext;
  events: RolloutEvent;
  input: RolloutInput;
  actions: Record<"start" | "count" | "advance" | "pause" | "resume" | "promote" | "rollBack" | "restoreClock" | "settle", unknown>;
  guards: Record<
    "cooledDown" | "noShadow" | "critical" | "failedEnough" | "unsureEnough" | "shadowDone" | "stageDone" | "lastStageDone" | "onLastStage",
    unknown
  >;
  value: Exclude<RolloutState, "active"> | { active: RolloutActiveState };
  schema: {
    id: "rollout";
    // `hist` is active's history pseudo-state: in the schema, never in a state value.
    states: Leaves<Exclude<RolloutState, "active">> & { readonly active: { states: Leaves<RolloutActiveState | "hist"> } };
  };
}>;

/**
 * The plan's default: 5% for 1 h, 10% 1 h, 25% 2 h, 50% 4 h, 75% 8 h, then
 * 100%; 10 minutes of shadow first; 500 calls per arm per stage; roll back
 * after 2 failing judgements in a row; pause after 3 inconclusive ones; a
 * cool-down of 30 minutes after a rollback. *
 * @example
 * ```ts
 * import { DEFAULT_PLAN } from "molt/machines";
 * console.log(DEFAULT_PLAN.stages.map((s) => s.weightBp)); // [ 500, 1000, 2500, 5000, 7500 ]
 * ```
 */
export const DEFAULT_PLAN: RolloutPlan = {
  shadowMs: 10 * 60_000,
  stages: [
    { weightBp: 500, minDurationMs: 3_600_000, minSamples: 500 },
    { weightBp: 1000, minDurationMs: 3_600_000, minSamples: 500 },
    { weightBp: 2500, minDurationMs: 7_200_000, minSamples: 500 },
    { weightBp: 5000, minDurationMs: 14_400_000, minSamples: 500 },
    { weightBp: 7500, minDurationMs: 28_800_000, minSamples: 500 },
  ],
  failuresToRollback: 2,
  inconclusiveToPause: 3,
  cooldownMs: 30 * 60_000,
};

const tick = (context: RolloutContext, now: number): number =>
  context.clockAt === null ? context.elapsedMs : context.elapsedMs + Math.max(0, now - context.clockAt);

const judged = (event: RolloutEvent): Judged | null => (event.type === "window.judged" ? event : null);

/** A passing judgement once the stage's time and both arms' samples are in. */
function stageDone(context: RolloutContext, event: RolloutEvent): boolean {
  const e = judged(event);
  const stage = context.plan.stages[context.stage];
  if (e === null || e.verdict !== "pass" || stage === undefined) return false;
  return tick(context, e.now) >= stage.minDurationMs &&
    context.samples.v1 + e.v1Calls >= stage.minSamples && context.samples.v2 + e.v2Calls >= stage.minSamples;
}

/** The part of the context a (re)start clears. */
const UNSTARTED = {
  stage: -1,
  elapsedMs: 0,
  samples: { v1: 0, v2: 0 },
  failures: 0,
  inconclusive: 0,
  pausedAt: null,
  pauseReason: null,
  rollbackReason: null,
} as const;

/** What a judgement can do to a running rollout before anything else: roll it back, or pause it. */
const BREACHES = [
  { guard: "critical", target: "#rollout.rollingBack", actions: "rollBack" },
  { guard: "failedEnough", target: "#rollout.rollingBack", actions: "rollBack" },
  { guard: "unsureEnough", target: "#rollout.paused", actions: "pause" },
] as const;

/** The ways out of a running or paused rollout that an operator has. */
const ESCAPES = {
  "operator.promoted": { target: "#rollout.promoted", actions: "promote" },
  "rollback.requested": { target: "#rollout.rollingBack", actions: "rollBack" },
} as const;

/**
 * The rollout machine.
 *
 * @example
 * ```ts
 * import { createActor } from "xstate";
 * import { rolloutMachine, shareOf } from "molt/machines";
 * const plan = { shadowMs: 0, stages: [{ weightBp: 500, minDurationMs: 1000, minSamples: 1 }], failuresToRollback: 1, inconclusiveToPause: 3, cooldownMs: 0 };
 * const actor = createActor(rolloutMachine, { input: { rolloutId: "r1", plan } }).start();
 * actor.send({ type: "rollout.started", now: 0 });
 * actor.send({ type: "window.judged", now: 10, verdict: "pass", critical: false, v1Calls: 5, v2Calls: 5, reason: "" });
 * console.log(shareOf(actor.getSnapshot())); // 500
 * actor.send({ type: "window.judged", now: 1500, verdict: "pass", critical: false, v1Calls: 5, v2Calls: 5, reason: "" });
 * console.log(actor.getSnapshot().value, shareOf(actor.getSnapshot())); // promoted 10000
 * ```
 */
export const rolloutMachine: RolloutMachine = setup({
  types: {
    context: {} as RolloutContext,
    events: {} as RolloutEvent,
    input: {} as RolloutInput,
  },
  guards: {
    cooledDown: ({ context, event }) => context.cooldownUntil === null || event.now >= context.cooldownUntil,
    noShadow: ({ context }) => context.plan.shadowMs === 0,
    critical: ({ event }) => judged(event)?.critical === true,
    failedEnough: ({ context, event }) => judged(event)?.verdict === "fail" && context.failures + 1 >= context.plan.failuresToRollback,
    unsureEnough: ({ context, event }) =>
      judged(event)?.verdict === "inconclusive" && context.inconclusive + 1 >= context.plan.inconclusiveToPause,
    shadowDone: ({ context, event }) => judged(event)?.verdict === "pass" && tick(context, event.now) >= context.plan.shadowMs,
    stageDone: ({ context, event }) => stageDone(context, event),
    lastStageDone: ({ context, event }) => stageDone(context, event) && context.stage >= context.plan.stages.length - 1,
    onLastStage: ({ context }) => context.stage >= context.plan.stages.length - 1,
  },
  actions: {
    start: assign({
      ...UNSTARTED,
      clockAt: ({ event }) => event.now,
      startedAt: ({ event }) => event.now,
      changedAt: ({ event }) => event.now,
    }),
    count: assign({
      elapsedMs: ({ context, event }) => tick(context, event.now),
      clockAt: ({ context, event }) => (context.clockAt === null ? null : event.now),
      samples: ({ context, event }) => {
        const e = judged(event);
        return e === null ? context.samples : { v1: context.samples.v1 + e.v1Calls, v2: context.samples.v2 + e.v2Calls };
      },
      failures: ({ context, event }) => (judged(event)?.verdict === "fail" ? context.failures + 1 : 0),
      inconclusive: ({ context, event }) => (judged(event)?.verdict === "inconclusive" ? context.inconclusive + 1 : 0),
    }),
    advance: assign({
      stage: ({ context }) => context.stage + 1,
      elapsedMs: 0,
      clockAt: ({ event }) => event.now,
      samples: { v1: 0, v2: 0 },
      failures: 0,
      inconclusive: 0,
      changedAt: ({ event }) => event.now,
    }),
    pause: assign({
      elapsedMs: ({ context, event }) => tick(context, event.now),
      clockAt: null,
      pausedAt: ({ event }) => event.now,
      pauseReason: ({ event }) =>
        event.type === "operator.paused" ? event.reason : event.type === "window.judged" ? event.reason : "paused",
      changedAt: ({ event }) => event.now,
    }),
    resume: assign({ clockAt: ({ event }) => event.now, pausedAt: null, pauseReason: null, inconclusive: 0, changedAt: ({ event }) => event.now }),
    promote: assign({ stage: ({ context }) => context.plan.stages.length, clockAt: null, changedAt: ({ event }) => event.now }),
    rollBack: assign({
      elapsedMs: ({ context, event }) => tick(context, event.now),
      clockAt: null,
      rollbackReason: ({ event }) =>
        event.type === "rollback.requested" ? event.reason : event.type === "window.judged" ? event.reason : "rollback",
      rollbacks: ({ context }) => context.rollbacks + 1,
      changedAt: ({ event }) => event.now,
    }),
    restoreClock: assign({ clockAt: ({ context, event }) => (context.clockAt === null ? null : event.now) }),
    settle: assign({
      cooldownUntil: ({ context, event }) => event.now + context.plan.cooldownMs,
      changedAt: ({ event }) => event.now,
    }),
  },
}).createMachine({
  id: "rollout",
  initial: "idle",
  on: { "controller.restored": { actions: "restoreClock" } },
  context: ({ input }) => ({
    rolloutId: input.rolloutId,
    plan: input.plan,
    ...UNSTARTED,
    clockAt: null,
    rollbacks: 0,
    cooldownUntil: null,
    startedAt: null,
    changedAt: null,
  }),
  states: {
    idle: {
      on: {
        "rollout.started": [
          { guard: "noShadow", target: "active.stage", actions: ["start", "advance"] },
          { target: "active", actions: "start" },
        ],
      },
    },
    active: {
      initial: "shadow",
      on: {
        "operator.paused": { target: "paused", actions: "pause" },
        "operator.advanced": [{ guard: "onLastStage", target: "#rollout.promoted", actions: "promote" }, { target: ".stage", actions: "advance" }],
        ...ESCAPES,
      },
      states: {
        shadow: {
          on: {
            "window.judged": [
              ...BREACHES,
              { guard: "shadowDone", target: "stage", actions: "advance" },
              { actions: "count" },
            ],
          },
        },
        stage: {
          on: {
            "window.judged": [
              ...BREACHES,
              { guard: "lastStageDone", target: "#rollout.promoted", actions: "promote" },
              { guard: "stageDone", actions: "advance" },
              { actions: "count" },
            ],
          },
        },
        hist: { type: "history" },
      },
    },
    paused: {
      on: {
        "operator.resumed": { target: "active.hist", actions: "resume" },
        // Moving a stage on resumes the rollout there.
        "operator.advanced": [{ guard: "onLastStage", target: "#rollout.promoted", actions: ["resume", "promote"] }, { target: "active.stage", actions: ["resume", "advance"] }],
        ...ESCAPES,
      },
    },
    promoted: {
      on: {
        "rollback.requested": { target: "rollingBack", actions: "rollBack" },
        // V1 is still there until decommission: a V2 that breaks after promotion still rolls back.
        "window.judged": [
          { guard: "critical", target: "rollingBack", actions: "rollBack" },
          { guard: "failedEnough", target: "rollingBack", actions: "rollBack" },
          { actions: "count" },
        ],
      },
    },
    rollingBack: {
      on: { "rollback.completed": { target: "rolledBack", actions: "settle" } },
    },
    rolledBack: {
      on: {
        "rollout.started": [
          { guard: and(["cooledDown", "noShadow"]), target: "active.stage", actions: ["start", "advance"] },
          { guard: "cooledDown", target: "active", actions: "start" },
        ],
      },
    },
  },
});

/**
 * The rollout machine's version, stored beside persisted snapshots.
 *
 * @example
 * ```ts
 * import { ROLLOUT_MACHINE_VERSION } from "molt/machines";
 * console.log(ROLLOUT_MACHINE_VERSION); // 1
 * ```
 */
export const ROLLOUT_MACHINE_VERSION = 1;

/**
 * The top-level state of a rollout snapshot.
 *
 * @example
 * ```ts
 * import { createActor } from "xstate";
 * import { rolloutMachine, rolloutState, DEFAULT_PLAN } from "molt/machines";
 * const actor = createActor(rolloutMachine, { input: { rolloutId: "r", plan: DEFAULT_PLAN } }).start();
 * actor.send({ type: "rollout.started", now: 0 });
 * console.log(rolloutState(actor.getSnapshot())); // active
 * ```
 */
export function rolloutState(snapshot: SnapshotFrom<RolloutMachine>): RolloutState {
  const value = snapshot.value;
  return (typeof value === "string" ? value : Object.keys(value)[0]) as RolloutState;
}

/**
 * The state of a rollout snapshot down to its leaf: "active.stage", "paused", …
 *
 * @example
 * ```ts
 * import { createActor } from "xstate";
 * import { rolloutMachine, rolloutDetail, DEFAULT_PLAN } from "molt/machines";
 * const actor = createActor(rolloutMachine, { input: { rolloutId: "r", plan: DEFAULT_PLAN } }).start();
 * actor.send({ type: "rollout.started", now: 0 });
 * console.log(rolloutDetail(actor.getSnapshot())); // active.shadow
 * ```
 */
export function rolloutDetail(snapshot: SnapshotFrom<RolloutMachine>): string {
  const value = snapshot.value;
  return typeof value === "string" ? value : Object.entries(value).map(([k, v]) => `${k}.${v}`)[0]!;
}

/**
 * The V2 share (basis points) a rollout snapshot stands for: 0 before the
 * first stage and after a rollback, the stage's weight in a stage (and while
 * paused in one), 10000 once promoted. *
 * @example
 * ```ts
 * import { createActor } from "xstate";
 * import { DEFAULT_PLAN, rolloutMachine, shareOf } from "molt/machines";
 * const actor = createActor(rolloutMachine, { input: { rolloutId: "r", plan: { ...DEFAULT_PLAN, shadowMs: 0 } } }).start();
 * actor.send({ type: "rollout.started", now: 0 });
 * console.log(shareOf(actor.getSnapshot())); // 500
 * ```
 */
export function shareOf(snapshot: SnapshotFrom<RolloutMachine>): number {
  const state = rolloutState(snapshot);
  const { stage, plan } = snapshot.context;
  if (state === "promoted") return 10_000;
  if ((state === "active" || state === "paused") && stage >= 0) return plan.stages[stage]?.weightBp ?? 10_000;
  return 0;
}
