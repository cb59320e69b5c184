/**
 * The plan's sizing rules as one pure function: grow by one worker when
 * utilisation is above `growAbove` while calls queue, shrink by one toward
 * `minSize` when it is below `shrinkBelow`, each change followed by a
 * cool-down; start an overflow worker when the queue has stayed non-empty
 * for `overflowAfterMs`, stop one that has been idle for `overflowIdleMs`.
 *
 * @module
 */

/** What the rules look at. Times in ms on one clock. */
export interface ScaleInput {
  readonly now: number;
  /** Busy fraction since the last judgement: calls in flight over capacity, time-weighted. */
  readonly utilisation: number;
  readonly queueDepth: number;
  /** Since when the queue has been non-empty without a break, or null. */
  readonly queuedSince: number | null;
  readonly size: number;
  readonly overflow: number;
  /** Overflow workers idle for at least `overflowIdleMs`. */
  readonly idleOverflow: number;
  readonly lastChangeAt: number | null;
}

/** The limits the rules keep to. */
export interface ScaleLimits {
  readonly optimizer: boolean;
  readonly minSize: number;
  readonly maxSize: number;
  readonly growAbove: number;
  readonly shrinkBelow: number;
  readonly cooldownMs: number;
  readonly maxOverflow: number;
  readonly overflowAfterMs: number;
}

/** One decision; at most one change per judgement. */
export type ScaleDecision =
  | { readonly action: "hold" }
  | { readonly action: "grow" | "shrink"; readonly to: number }
  | { readonly action: "overflow" | "retireOverflow" };

const HOLD: ScaleDecision = { action: "hold" };

/**
 * Decide the next sizing step.
 *
 * @example
 * ```ts
 * import { decideScale } from "molt";
 * const limits = { optimizer: true, minSize: 1, maxSize: 4, growAbove: 0.9, shrinkBelow: 0.3, cooldownMs: 30_000, maxOverflow: 0, overflowAfterMs: 1000 };
 * const busy = { now: 60_000, utilisation: 0.95, queueDepth: 5, queuedSince: 59_000, size: 2, overflow: 0, idleOverflow: 0, lastChangeAt: null };
 * console.log(decideScale(busy, limits)); // { action: "grow", to: 3 }
 * ```
 */
export function decideScale(input: ScaleInput, limits: ScaleLimits): ScaleDecision {
  if (input.idleOverflow > 0 && input.queueDepth === 0) return { action: "retireOverflow" };
  const queuedLong = input.queuedSince !== null && input.now - input.queuedSince >= limits.overflowAfterMs;
  if (queuedLong && input.overflow < limits.maxOverflow) return { action: "overflow" };
  if (!limits.optimizer) return HOLD;
  if (input.lastChangeAt !== null && input.now - input.lastChangeAt < limits.cooldownMs) return HOLD;
  if (input.utilisation > limits.growAbove && input.queueDepth > 0 && input.size < limits.maxSize) {
    return { action: "grow", to: input.size + 1 };
  }
  if (input.utilisation < limits.shrinkBelow && input.queueDepth === 0 && input.size > limits.minSize) {
    return { action: "shrink", to: input.size - 1 };
  }
  return HOLD;
}
