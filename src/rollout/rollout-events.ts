/**
 * Rollout events: what happened to a rollout, one typed event per thing an
 * operator would want to hear about (started, a stage advanced or held, a
 * streak of inconclusive judgements, paused, resumed, promoted, a rollback
 * started and finished, decommissioned, a tick failed), and the stream they
 * are published on. The controller derives each one from a decision at the
 * moment it records it, so the stream and the decision log say the same.
 *
 * @module
 */
import type { RuleStatus, Verdict } from "../monitor/judge.ts";

/**
 * Every rollout event's name, in the order a rollout usually meets them.
 * `window.judged` is a judgement that changed nothing worth telling (a pass
 * before the stage is due, a judgement after promotion): StatsD counts it,
 * notifiers leave it out unless asked for it by name or with "all".
 *
 * @example
 * ```ts
 * import { ROLLOUT_EVENT_NAMES } from "molt";
 * console.log(ROLLOUT_EVENT_NAMES.includes("stage.advanced")); // true
 * ```
 */
export const ROLLOUT_EVENT_NAMES: readonly RolloutEventName[] = [
  "rollout.started",
  "window.judged",
  "stage.advanced",
  "stage.held",
  "verdict.inconclusive_streak",
  "rollout.paused",
  "rollout.resumed",
  "rollout.promoted",
  "rollback.started",
  "rollback.completed",
  "tick.failed",
  "tick.recovered",
  "migration.decommissioned",
];

/** The name of a rollout event. */
export type RolloutEventName =
  | "rollout.started"
  | "window.judged"
  | "stage.advanced"
  | "stage.held"
  | "verdict.inconclusive_streak"
  | "rollout.paused"
  | "rollout.resumed"
  | "rollout.promoted"
  | "rollback.started"
  | "rollback.completed"
  | "tick.failed"
  | "tick.recovered"
  | "migration.decommissioned";

/** One rule of a judgement that failed or was inconclusive, as an event carries it. */
export interface RuleOutcome {
  readonly rule: string;
  readonly status: RuleStatus;
  /** The value measured, or null when there was none. */
  readonly value: number | null;
  readonly threshold: number;
}

/** The judgement behind an event that came from one. */
export interface VerdictSummary {
  readonly verdict: Verdict;
  readonly critical: boolean;
  /** Every rule with its outcome (StatsD counts them by rule and outcome). */
  readonly rules: readonly { readonly rule: string; readonly status: RuleStatus }[];
  /** The rules that failed or were inconclusive, with their values and thresholds (those without evidence are in `rules` as "insufficient"). */
  readonly failing: readonly RuleOutcome[];
}

/**
 * A rollout event. Every field is plain data (the webhook sends it as JSON,
 * see docs/notifications.md).
 */
export interface RolloutNotice {
  readonly event: RolloutEventName;
  readonly rolloutId: string;
  /** When it happened, on the rollout's clock (epoch ms): the decision's `at`. */
  readonly at: number;
  /** The rollout's state after it: "active.stage", "paused", "rolledBack", … ("complete" after decommissioning). */
  readonly state: string;
  /** The stage (1-based) after it, or null outside the stages (shadow, promoted, rolled back). */
  readonly stage: number | null;
  /** How many stages the plan has. */
  readonly stages: number;
  /** V2's share after it, and before (basis points). */
  readonly shareBp: number;
  readonly previousShareBp: number;
  /** Time counted in the current stage (or shadow) after it, pauses excluded. */
  readonly elapsedMs: number;
  /** Why, as the decision log says it. */
  readonly reason: string;
  /** "operator" for an operator's command, "rollout" for what the rollout decided itself. */
  readonly trigger: "operator" | "rollout";
  /** The operator's identity when the command carried one, else null. */
  readonly by: string | null;
  /** The judgement, for events that came from one; else null. */
  readonly verdict: VerdictSummary | null;
  /** What this event adds (docs/notifications.md lists the keys of each). */
  readonly detail: Readonly<Record<string, string | number | boolean | null>>;
  /** The decision it came from was written to the store (false: the write failed, the event is told all the same). */
  readonly recorded: boolean;
}

/** A function that receives rollout events. */
export type RolloutListener = (event: RolloutNotice) => void;

/**
 * The stream a rollout publishes its events on: synchronous and in order; a
 * listener that throws is reported on `console.error` and stops neither the
 * others nor the rollout. Pass one as the `events` option of a rollout
 * controller, a migration's `rollout` or a fleet node, and subscribe
 * notifiers and StatsD to it.
 *
 * @example
 * ```ts
 * import { RolloutEventStream } from "molt";
 * const events = new RolloutEventStream();
 * const off = events.subscribe((e) => console.log(e.event, e.shareBp)); // rollout.started 500
 * events.emit({ event: "rollout.started", rolloutId: "r", at: 0, state: "active.stage", stage: 1, stages: 5, shareBp: 500, previousShareBp: 0, elapsedMs: 0, reason: "operator started the rollout", trigger: "operator", by: null, verdict: null, detail: {}, recorded: true });
 * off();
 * ```
 */
export class RolloutEventStream {
  private listeners: readonly RolloutListener[] = [];

  /** Add a listener; returns the function that removes it. */
  subscribe(listener: RolloutListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Deliver `event` to every listener, in subscription order. */
  emit(event: RolloutNotice): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (e) {
        console.error(`[molt] a rollout event listener threw on ${event.event}:`, e);
      }
    }
  }
}
