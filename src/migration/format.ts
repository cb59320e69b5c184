/**
 * How the report and the CLI write shares, durations and stages, the same
 * way in both.
 *
 * @module
 */
import type { RolloutContext } from "../../machines/rollout.ts";
import type { StoredMigration } from "./inspect.ts";

/** Basis points as a percentage: 2500 → "25%". */
export const pct = (bp: number): string => `${bp / 100}%`;

/** A duration in the unit that reads best: "42.0 s", "12.5 min", "3.25 h". */
export const duration = (ms: number): string =>
  ms < 120_000 ? `${(ms / 1000).toFixed(1)} s` : ms < 7_200_000 ? `${(ms / 60_000).toFixed(1)} min` : `${(ms / 3_600_000).toFixed(2)} h`;

/** "2 of 5" while a stage runs, "—" before the first and after the last. */
export const stageOf = (c: RolloutContext): string => (c.stage >= 0 && c.stage < c.plan.stages.length ? `${c.stage + 1} of ${c.plan.stages.length}` : "—");

/** A rollout as the report and the dashboard show it. */
export interface RolloutSummary {
  readonly state: string;
  /** The state as a path: "active.stage", "paused", "rolledBack", … */
  readonly detail: string;
  readonly shareBp: number;
  /** "2 of 5", or "—" outside the stages. */
  readonly stage: string;
  readonly rollbacks: number;
}

/** The summary of a stored rollout. */
export function rolloutSummary(r: NonNullable<StoredMigration["rollout"]>): RolloutSummary {
  return { state: r.state, detail: r.detail, shareBp: r.shareBp, stage: stageOf(r.context), rollbacks: r.context.rollbacks };
}
