/**
 * An enhanced pool's breakers: one cockatiel breaker per worker position and
 * the gate over them (src/resilience/pool-gate.ts). A position outlives the
 * processes that hold it: a worker started to replace a crashed one takes
 * the position, and its breaker, of the one it replaces, so that a handler
 * that crashes every worker still opens it. With a store, the gate
 * (`breaker:<pool>`) and the positions the pool starts with
 * (`breaker:<pool>#<n>`) are persisted and restored.
 *
 * @module
 */
import type { BreakerState } from "../../machines/breaker.ts";
import { type BreakerRecord, type BreakerSettings, memoryRecord, PoolBreaker, restorableState } from "../resilience/breaker.ts";
import { type PersistedBreaker, persistedBreaker } from "../resilience/persisted-breaker.ts";
import { type GateState, PoolGate, restorableGate } from "../resilience/pool-gate.ts";
import { ConfigError } from "../errors.ts";
import type { Store } from "../store/store.ts";

/** What `pool.breakerState()` returns and `breaker.initialState` takes. */
export interface SavedBreakers {
  readonly gate: GateState;
  /** cockatiel's state of each position's breaker. */
  readonly positions: readonly unknown[];
}

/** Where the breakers tell of their changes. */
export interface BreakerHooks {
  gateChanged(from: BreakerState, to: BreakerState): void;
  positionChanged(position: number, from: BreakerState, to: BreakerState): void;
  /** A store write of a persisted breaker did not land; the pool goes on. */
  storeFailed(operation: string, error: unknown): void;
}

/** `breaker.initialState` checked: a state from `pool.breakerState()`, or nothing. */
function savedBreakers(pool: string, given: unknown): SavedBreakers | undefined {
  if (given === undefined || given === null) return undefined;
  const g = given as Partial<SavedBreakers>;
  if (typeof g !== "object" || typeof g.gate !== "object" || g.gate === null || !Array.isArray(g.positions) || restorableGate(g.gate) === undefined) {
    // A state saved before breakers were per worker (cockatiel's own) has no gate: say so rather than ignore it.
    throw new ConfigError({ owner: `pool "${pool}"`, option: "breaker.initialState", received: given, allowed: "a state from pool.breakerState(): { gate, positions }" });
  }
  return g as SavedBreakers;
}

/** The gate and the positions' breakers. */
export class PoolBreakers {
  private readonly positions: PoolBreaker[] = [];

  private constructor(
    private readonly pool: string,
    private readonly settings: BreakerSettings,
    private readonly hooks: BreakerHooks,
    private readonly target: () => number,
    private readonly held: () => readonly number[],
    readonly gate: PoolGate,
  ) {}

  /** The breakers of `pool`, restored from `store` (or `settings.initialState`) when given. */
  static async create(
    pool: string,
    settings: BreakerSettings,
    size: number,
    store: Store | undefined,
    hooks: BreakerHooks,
    target: () => number,
    held: () => readonly number[],
  ): Promise<PoolBreakers> {
    const given = savedBreakers(pool, settings.initialState);
    const failed = (operation: "breaker.record" | "breaker.snapshot", error: unknown): void => hooks.storeFailed(operation, error);
    const gateStore = store === undefined ? undefined : await persistedBreaker(pool, store);
    const gate = new PoolGate(
      settings.halfOpenAfterMs,
      (from, to) => hooks.gateChanged(from, to),
      gateStore?.record(failed) ?? memoryRecord(pool),
      restorableGate(given?.gate) ?? restorableGate(gateStore?.saved),
    );
    const breakers = new PoolBreakers(pool, settings, hooks, target, held, gate);
    const stored: (PersistedBreaker | undefined)[] = store === undefined
      ? []
      : await Promise.all(Array.from({ length: size }, (_, i) => persistedBreaker(`${pool}#${i}`, store)));
    for (let i = 0; i < size; i++) {
      const saved = restorableState(given?.positions[i] ?? stored[i]?.saved);
      breakers.add(i, saved, stored[i]?.record(failed));
    }
    return breakers;
  }

  /** The breaker of a position, created (in memory) for one beyond those the pool started with. */
  at(position: number): PoolBreaker {
    return this.positions[position] ?? this.add(position, undefined, undefined);
  }

  /** Every position's cockatiel state and the gate's, for `breaker.initialState` after a restart. */
  toJSON(): SavedBreakers {
    return { gate: this.gate.toJSON(), positions: this.positions.map((b) => b.toJSON()) };
  }

  /** Stop every breaker machine (writing final snapshots when persisted). */
  async stop(): Promise<void> {
    await Promise.all([this.gate.stop(), ...this.positions.map((b) => b.stop())]);
  }

  private add(position: number, initialState: unknown, record: BreakerRecord | undefined): PoolBreaker {
    const breaker = new PoolBreaker(
      this.pool,
      { ...this.settings, initialState },
      (from, to) => {
        this.hooks.positionChanged(position, from, to);
        this.judge();
      },
      record ?? memoryRecord(`${this.pool}#${position}`),
    );
    this.positions[position] = breaker;
    // A position restored open counts at once.
    if (!breaker.closed) this.judge();
    return breaker;
  }

  /** Judge the gate again: after a position's change, or when the pool's size changed. */
  judge(): void {
    const { failing, positions } = this.count();
    this.gate.judge(failing, positions);
  }

  /** No more than half of the positions in use are failing. */
  healthy(): boolean {
    const { failing, positions } = this.count();
    return failing * 2 <= positions;
  }

  /**
   * The positions in use: those of the target size (one left by a crashed worker counts while its
   * replacement starts) and any a live worker holds beyond them (an overflow worker's).
   */
  private count(): { failing: number; positions: number } {
    const inUse = new Set<number>(this.held());
    for (let i = 0; i < this.target(); i++) inUse.add(i);
    let failing = 0;
    for (const i of inUse) if (this.positions[i] !== undefined && !this.positions[i]!.closed) failing++;
    return { failing, positions: Math.max(1, inUse.size) };
  }
}
