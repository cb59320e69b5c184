/**
 * A hands-on training exercise (`molt train <exercise>`): the situation a
 * process serving it sets up on local pools, what the trainee is told, and
 * the criteria `molt train check` judges from the store's own record.
 *
 * @module
 */
import type { Flags } from "../flags/flags.ts";
import { readMigration } from "../migration/inspect.ts";
import type { Store } from "../store/store.ts";
import type { OperatorCommand } from "../store/tables/commands.ts";
import type { Decision } from "../store/tables/decisions.ts";

/** The situation an exercise starts from: what its serving processes run. */
export interface Scenario {
  /** One migration serving commands ("migration"), or two fleet nodes sharing one rollout ("fleet"). */
  readonly kind: "migration" | "fleet";
  /** MOLT_TRAINING_FAULT of V2's workers (src/python/training_handler.py): "leak", "broken" or none. */
  readonly v2Fault?: "leak" | "broken";
  /** Shadow time in milliseconds before the first stage. */
  readonly shadowMs: number;
  /** The stages' shares in basis points. */
  readonly stagesBp: readonly number[];
  /**
   * Calls a judged window needs before the monitor judges anything: set far
   * above the training traffic where the trainee, not the monitor, must act.
   */
  readonly minCalls: number;
  /** The serving process judges the rollout twice a second (false: only commands move it). */
  readonly tick: boolean;
  /** What the setup does after the migration reached its first stage, and whether anything keeps serving after. */
  readonly after?: "rollback-and-stop";
}

/** The record `molt train check` judges: everything after the exercise was set up. */
export interface TrainingRecord {
  readonly store: Store;
  readonly migrationId: string;
  /** Who is checked (`--by`, default the OS user). */
  readonly who: string;
  /** The `training.setup` decision: when, and which processes. */
  readonly setup: Decision;
  /** The migration's decisions after the setup, oldest first. */
  readonly decisions: readonly Decision[];
  /** Operator commands requested after the setup, oldest first. */
  readonly commands: readonly OperatorCommand[];
  /** The rollout as the store holds it now. */
  readonly rollout: { readonly state: string; readonly detail: string; readonly shareBp: number } | null;
}

/** One criterion of an exercise: passed, or what was missed. */
export interface CriterionResult {
  readonly criterion: string;
  readonly passed: boolean;
  /** What was missed and how to do it; empty when passed. */
  readonly missed: string;
}

/** An exercise of `molt train`. */
export interface Exercise {
  /** Its name on the command line. */
  readonly name: string;
  readonly title: string;
  /** What it trains, in one line (`molt train list`). */
  readonly summary: string;
  readonly scenario: Scenario;
  /** What the trainee faces and is asked to do. */
  readonly briefing: string;
  /** What the setup changes once the scenario is up, before the trainee is told. */
  prepare?(store: Store, flags: Flags): Promise<void>;
  /** The criteria, judged from the record. */
  criteria(record: TrainingRecord): Promise<CriterionResult[]>;
}

/** The id of the migration an exercise runs: `train-<name>`. */
export const trainingMigrationId = (exercise: string): string => `train-${exercise}`;

/** A criterion: passed, or `missed` says what is missing. */
export const criterion = (name: string, passed: boolean, missed: string): CriterionResult => ({ criterion: name, passed, missed: passed ? "" : missed });

/** The latest `training.setup` decision of a migration, or undefined when the exercise was never set up in this store. */
export async function setupOf(store: Store, migrationId: string): Promise<Decision | undefined> {
  return (await store.decisions.list(migrationId, { kinds: ["training.setup"] })).at(-1);
}

/** Read the record of an exercise set up by `setup`. */
export async function readTrainingRecord(store: Store, migrationId: string, setup: Decision, who: string): Promise<TrainingRecord> {
  const m = await readMigration(store, migrationId);
  return {
    store, migrationId, who, setup,
    decisions: await store.decisions.list(migrationId, { afterId: setup.id }),
    commands: (await store.commands.list(migrationId, 10_000)).filter((c) => c.requestedAt >= setup.at).reverse(),
    rollout: m.rollout === null ? null : { state: m.rollout.state, detail: m.rollout.detail, shareBp: m.rollout.shareBp },
  };
}

/**
 * Three criteria for an operator command the trainee must give: it was
 * applied, it carried a reason (`--reason`), and it was given by the
 * trainee (`--by`). `cli` is the command to suggest.
 */
export function commandCriteria(r: TrainingRecord, names: readonly string[], what: string, cli: string): CriterionResult[] {
  const given = r.commands.filter((c) => names.includes(c.command));
  const applied = given.filter((c) => c.status === "applied");
  const reasonOf = (c: OperatorCommand): string => (typeof c.args.reason === "string" ? c.args.reason.trim() : "");
  // The best attempt counts: a pause without a reason, resumed and paused again with one, passes.
  const c = applied.find((x) => reasonOf(x) !== "" && x.requestedBy === r.who) ?? applied.find((x) => reasonOf(x) !== "") ?? applied[0];
  const none = given.length === 0
    ? `no ${names.join(" or ")} command was given after the exercise was set up: run ${cli}`
    : `${names.join(" or ")} was given but not applied (${given.map((x) => x.status).join(", ")}): is the exercise still running?`;
  const notYet = `not done yet`;
  return [
    criterion(what, c !== undefined, none),
    criterion(`${what}, with a reason`, c !== undefined && reasonOf(c) !== "", c === undefined ? notYet : `the ${c.command} command (id ${c.id}) has no reason: say why with --reason "..."`),
    criterion(`${what}, by ${r.who}`, c !== undefined && c.requestedBy === r.who, c === undefined ? notYet : `the ${c.command} command (id ${c.id}) was given by ${c.requestedBy ?? "no one named"}, not ${r.who}: give --by ${r.who}`),
  ];
}

/** The criterion that the rollout is in one of `states` now. */
export function rolloutIn(r: TrainingRecord, states: readonly string[], what: string): CriterionResult {
  return criterion(what, r.rollout !== null && states.includes(r.rollout.state), `the rollout is ${r.rollout === null ? "not in the store" : `${r.rollout.detail} (V2 share ${r.rollout.shareBp / 100}%)`}, not ${states.join(" or ")}`);
}
