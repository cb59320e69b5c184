/**
 * The pool's own breaker, over the breakers of its workers. Each worker
 * position has a cockatiel breaker (PoolBreaker) that takes a failing worker
 * out of dispatch and probes it back in, as outlier ejection does in service
 * proxies; this gate opens only when more than half of the positions are
 * failing at once, and then refuses calls at the door, since there are not
 * enough healthy workers left to take them. It half-opens after
 * `halfOpenAfterMs` to let one probe call through at a time, and closes
 * when a probe succeeds with no more than half of the positions failing:
 * a probe that a healthy worker of the minority answered says nothing of
 * the rest.
 *
 * It feeds the breaker machine (actor `breaker:<pool>`), so it is visible and
 * persisted like the single breaker it replaces, and a pool restarted on the
 * same store starts with the gate where it was.
 *
 * @module
 */
import type { BreakerState } from "../../machines/breaker.ts";
import type { BreakerRecord } from "./breaker.ts";

/** What `admit` decides for one call. */
export type Admission = "pass" | "probe" | "refuse";

/** The gate's state as saved: where a restarted pool's gate starts. */
export interface GateState {
  readonly state: "closed" | "open";
  /** When it last opened (ms since the epoch), or null. */
  readonly openedAt: number | null;
}

/** The pool-level breaker derived from the positions' breakers. */
export class PoolGate {
  private current: "closed" | "open" | "halfOpen";
  private openedAt: number | null;
  private probing = false;

  constructor(
    private readonly halfOpenAfterMs: number,
    private readonly onChange: (from: BreakerState, to: BreakerState) => void,
    private readonly machine: BreakerRecord,
    restored: GateState | undefined,
  ) {
    this.current = restored?.state === "open" ? "open" : "closed";
    this.openedAt = restored?.openedAt ?? null;
    // The record may hold a state the gate does not start from (an isolation is not restored, an
    // explicit initial state wins): bring it in line.
    if (machine.state === "isolated") machine.record({ type: "breaker.released", now: Date.now(), saved: this.toJSON() });
    if (machine.state !== this.current) this.feed(this.current);
  }

  /** The gate's state. */
  get state(): BreakerState {
    return this.current;
  }

  /** True while closed: every call passes without asking. */
  get closed(): boolean {
    return this.current === "closed";
  }

  /** May this call go on? Once open long enough, one call at a time goes as the probe. */
  admit(): Admission {
    if (this.current === "closed") return "pass";
    const now = Date.now();
    if (this.probing || now - (this.openedAt ?? now) < this.halfOpenAfterMs) return "refuse";
    this.probing = true;
    if (this.current === "open") this.move("halfOpen");
    return "probe";
  }

  /**
   * How the probe ended: a failure opens the gate again; a success closes it
   * once no more than half of the positions fail (`healthy`), and otherwise
   * lets the next call probe.
   */
  probed(succeeded: boolean, healthy: boolean): void {
    this.probing = false;
    if (this.current !== "halfOpen") return;
    if (!succeeded) this.open();
    else if (healthy) this.move("closed");
  }

  /** Judge the positions: more than half failing opens a closed gate. */
  judge(failing: number, positions: number): void {
    if (this.current === "closed" && failing * 2 > positions) this.open();
  }

  /** What a restarted pool's gate starts from. */
  toJSON(): GateState {
    return { state: this.current === "closed" ? "closed" : "open", openedAt: this.openedAt };
  }

  /** Stop the breaker machine (writing its final snapshot when persisted). */
  stop(): Promise<void> {
    return this.machine.stop();
  }

  private open(): void {
    this.openedAt = Date.now();
    this.move("open");
  }

  private move(to: "closed" | "open" | "halfOpen"): void {
    const from = this.current;
    this.current = to;
    this.feed(to);
    this.onChange(from, to);
  }

  private feed(to: "closed" | "open" | "halfOpen"): void {
    const change = { now: Date.now(), saved: this.toJSON() };
    if (to === "open") this.machine.record({ type: "breaker.opened", ...change });
    else if (to === "halfOpen") this.machine.record({ type: "breaker.halfOpened", ...change });
    else this.machine.record({ type: "breaker.closed", ...change });
  }
}

/** A gate state saved in a breaker machine's context, if a gate can start from it. */
export function restorableGate(saved: unknown): GateState | undefined {
  const s = saved as Partial<GateState> | null | undefined;
  if (s?.state !== "open" && s?.state !== "closed") return undefined;
  return { state: s.state, openedAt: typeof s.openedAt === "number" ? s.openedAt : null };
}
