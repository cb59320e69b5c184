/**
 * A migration from V1 to V2 as a pure statechart: preflight → backup →
 * deployShadow → verify → rollout → decommission → complete, and from any
 * phase a failure leads to rollingBack → rolledBack. Each phase ends with
 * `phase.succeeded` or `phase.failed` naming it (with `now`); src/migration
 * runs the phases and records each in `migration_status`.
 *
 * @module
 */
import { assign, setup, type SnapshotFrom } from "xstate";
import type { Leaves, PureMachine } from "./pure-machine.ts";

/**
 * The phases, in order.
 *
 * @example
 * ```ts
 * import { MIGRATION_PHASES } from "molt/machines";
 * console.log(MIGRATION_PHASES[0], MIGRATION_PHASES.length); // preflight 6
 * ```
 */
export const MIGRATION_PHASES = ["preflight", "backup", "deployShadow", "verify", "rollout", "decommission"] as const;

/** A phase of a migration. */
export type MigrationPhaseName = (typeof MIGRATION_PHASES)[number];

/** The migration's states. */
export type MigrationState = "idle" | MigrationPhaseName | "complete" | "rollingBack" | "rolledBack";

/** Machine context. */
export interface MigrationContext {
  readonly migrationId: string;
  readonly failedPhase: MigrationPhaseName | null;
  readonly reason: string | null;
  readonly startedAt: number | null;
  readonly changedAt: number | null;
}

/** Every event the migration machine accepts; all carry the time they happened. */
export type MigrationEvent =
  | { readonly type: "migration.started"; readonly now: number }
  | { readonly type: "phase.succeeded"; readonly now: number; readonly phase: MigrationPhaseName }
  | { readonly type: "phase.failed"; readonly now: number; readonly phase: MigrationPhaseName; readonly reason: string }
  | { readonly type: "rollback.completed"; readonly now: number }
  | { readonly type: "migration.retried"; readonly now: number };

/** The input a migration actor is created with. */
export interface MigrationInput {
  readonly migrationId: string;
}

/** The migration machine's type, written out (tsc checks it against {@link migrationMachine}). */
export type MigrationMachine = PureMachine<{
  context: MigrationContext;
  events: MigrationEvent;
  input: MigrationInput;
  actions: Record<"begin" | "changed" | "failed", unknown>;
  guards: { isPhase: { phase: MigrationPhaseName } };
  value: MigrationState;
  schema: { id: "migration"; states: Leaves<MigrationState> };
}>;

/** A phase's two ways out: its own success to `next`, its own failure to rollingBack. */
const ends = (phase: MigrationPhaseName, next: MigrationState) => ({
  "phase.succeeded": { guard: { type: "isPhase" as const, params: { phase } }, target: next, actions: "changed" as const },
  "phase.failed": { guard: { type: "isPhase" as const, params: { phase } }, target: "rollingBack", actions: "failed" as const },
});

/**
 * The migration machine.
 *
 * @example
 * ```ts
 * import { createActor } from "xstate";
 * import { migrationMachine } from "molt/machines";
 * const actor = createActor(migrationMachine, { input: { migrationId: "m1" } }).start();
 * actor.send({ type: "migration.started", now: 0 });
 * actor.send({ type: "phase.succeeded", phase: "preflight", now: 1 });
 * actor.send({ type: "phase.failed", phase: "backup", now: 2, reason: "disk full" });
 * console.log(actor.getSnapshot().value, actor.getSnapshot().context.failedPhase); // rollingBack backup
 * ```
 */
export const migrationMachine: MigrationMachine = setup({
  types: {
    context: {} as MigrationContext,
    events: {} as MigrationEvent,
    input: {} as MigrationInput,
  },
  guards: {
    isPhase: ({ event }, params: { phase: MigrationPhaseName }) => "phase" in event && event.phase === params.phase,
  },
  actions: {
    begin: assign({ startedAt: ({ event }) => event.now, changedAt: ({ event }) => event.now, failedPhase: null, reason: null }),
    changed: assign({ changedAt: ({ event }) => event.now }),
    failed: assign({
      failedPhase: ({ event }) => (event.type === "phase.failed" ? event.phase : null),
      reason: ({ event }) => (event.type === "phase.failed" ? event.reason : null),
      changedAt: ({ event }) => event.now,
    }),
  },
}).createMachine({
  id: "migration",
  initial: "idle",
  context: ({ input }) => ({ migrationId: input.migrationId, failedPhase: null, reason: null, startedAt: null, changedAt: null }),
  states: {
    idle: { on: { "migration.started": { target: "preflight", actions: "begin" } } },
    preflight: { on: ends("preflight", "backup") },
    backup: { on: ends("backup", "deployShadow") },
    deployShadow: { on: ends("deployShadow", "verify") },
    verify: { on: ends("verify", "rollout") },
    rollout: { on: ends("rollout", "decommission") },
    decommission: { on: ends("decommission", "complete") },
    complete: { type: "final" },
    rollingBack: { on: { "rollback.completed": { target: "rolledBack", actions: "changed" } } },
    rolledBack: { on: { "migration.retried": { target: "preflight", actions: "begin" } } },
  },
});

/**
 * The migration machine's version, stored beside persisted snapshots.
 *
 * @example
 * ```ts
 * import { MIGRATION_MACHINE_VERSION } from "molt/machines";
 * console.log(MIGRATION_MACHINE_VERSION); // 1
 * ```
 */
export const MIGRATION_MACHINE_VERSION = 1;

/**
 * The state of a migration snapshot.
 *
 * @example
 * ```ts
 * import { createActor } from "xstate";
 * import { migrationMachine, migrationState } from "molt/machines";
 * const actor = createActor(migrationMachine, { input: { migrationId: "m" } }).start();
 * actor.send({ type: "migration.started", now: 0 });
 * console.log(migrationState(actor.getSnapshot())); // preflight
 * ```
 */
export const migrationState = (snapshot: SnapshotFrom<MigrationMachine>): MigrationState => snapshot.value as MigrationState;
