/**
 * Both arms' windows written to `pool_metrics`, on a schedule aligned on the
 * epoch whatever the store does: a window is cut when it ends and kept until
 * it is written, so a store that is away for a while loses none of the last
 * `PENDING_WINDOWS`. What a fleet node publishes for the leader to judge, and
 * what a migration keeps so that its report covers every window it served.
 *
 * @module
 */
import type { Pool } from "../pool/types.ts";
import type { Router } from "../routing/router.ts";
import type { Store } from "../store/store.ts";
import { type NodeWindow, NodeWindowCutter } from "./node-window.ts";

/** Windows kept per arm while the store is away, written when it is back. */
const PENDING_WINDOWS = 64;
/** How long after a window ends it is cut: its last slice must have ended. */
const CUT_DELAY_MS = 20;

/** @internal Cuts and writes both arms' windows for one node (or process). */
export class WindowRecorder {
  /** The calls of each arm in the last window cut. */
  lastWindow = { v1Calls: 0, v2Calls: 0 };
  written = 0;
  private readonly cutters: readonly [NodeWindowCutter, NodeWindowCutter];
  private pending: { pool: string; window: NodeWindow }[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private startedAt = 0;
  /** The start of the first window not cut yet. */
  private nextFrom = 0;
  private stopped = false;
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly o: {
      store: Store;
      v1: Pool;
      v2: Pool;
      router: Router | null;
      target: string;
      nodeId: string;
      windowMs: number;
      /**
       * Write the windows under way at `start` and at `stop` too, so that every call is written (a fleet
       * node does not: the windows it publishes must be whole to be judged alike).
       */
      partialEnds: boolean;
      onError: (e: unknown) => void;
    },
  ) {
    this.cutters = [new NodeWindowCutter(o.v1, "v1", o.target, o.router), new NodeWindowCutter(o.v2, "v2", o.target, o.router)];
  }

  /** Windows waiting to be written. */
  get waiting(): number {
    return this.pending.length;
  }

  /** Cut from the next window boundary on; the window under way now is partial, and written only with `partialEnds`. */
  start(): void {
    const now = Date.now();
    this.startedAt = this.o.partialEnds ? 0 : now;
    this.nextFrom = Math.floor(now / this.o.windowMs) * this.o.windowMs;
    this.schedule();
  }

  /**
   * No more cuts (what was cut stays pending until `flush`); with
   * `partialEnds` and `last`, the window under way is cut as it stands. Not
   * `last` when another recorder takes over at once: it writes that window
   * whole, and one row per window and node is kept.
   */
  stop(last = true): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    const now = Date.now();
    try {
      // A window that ended before its timer fired (stopped within CUT_DELAY_MS of its end, or a busy event loop) is whole: cut it.
      this.cutEnded(now);
      if (this.o.partialEnds && last) this.cut(this.nextFrom, now + 1, true);
    } catch (e) {
      this.o.onError(e);
    }
  }

  /** `stop`, then write what was cut; a window that cannot be written is told to `onError`. */
  async finish(last: boolean): Promise<void> {
    this.stop(last);
    await this.flush().catch(this.o.onError);
  }

  /** Write the windows cut and not yet written, oldest first; one flush at a time. */
  flush(): Promise<void> {
    this.flushing ??= (async () => {
      while (this.pending.length > 0) {
        const { pool, window } = this.pending[0]!;
        await this.o.store.poolMetrics.record({ poolName: pool, nodeId: this.o.nodeId, timestamp: window.from, metrics: window as never });
        this.pending.shift();
        this.written++;
      }
    })().finally(() => (this.flushing = null));
    return this.flushing;
  }

  private schedule(): void {
    if (this.stopped) return;
    const end = this.nextFrom + this.o.windowMs;
    this.timer = setTimeout(() => {
      this.timer = null;
      try {
        this.cutEnded(Math.max(Date.now(), end));
      } catch (e) {
        this.o.onError(e);
      }
      this.schedule();
      void this.flush().catch(this.o.onError);
    }, Math.max(0, end - Date.now()) + CUT_DELAY_MS);
  }

  /** Cut every window that has ended by `now` and was not cut yet, oldest first (a timer late by more than a window loses none). */
  private cutEnded(now: number): void {
    const w = this.o.windowMs;
    while (this.nextFrom + w <= now) {
      const from = this.nextFrom;
      this.nextFrom += w;
      this.cut(from, from + w);
    }
  }

  private cut(from: number, to: number, open = false): void {
    if (from < this.startedAt) return;
    const [a, b] = this.cutters.map((c) => c.cut(from, to, open));
    this.lastWindow = { v1Calls: a!.calls, v2Calls: b!.calls };
    this.pending.push({ pool: this.o.v1.name, window: a! }, { pool: this.o.v2.name, window: b! });
    if (this.pending.length > 2 * PENDING_WINDOWS) this.pending.splice(0, this.pending.length - 2 * PENDING_WINDOWS);
  }
}

/**
 * The shortest window of at least `atLeastMs` made of whole slices of both
 * pools (slices are counted by when they start, so any window loses
 * nothing; whole ones keep windows alike).
 */
export function wholeSlicesWindow(v1: Pool, v2: Pool, atLeastMs: number): number {
  const [a, b] = [v1.metrics().sliceMs, v2.metrics().sliceMs];
  if (!Number.isInteger(a) || !Number.isInteger(b)) return atLeastMs;
  const gcd = (x: number, y: number): number => (y === 0 ? x : gcd(y, x % y));
  const lcm = (a * b) / gcd(a, b);
  return Math.ceil(atLeastMs / lcm) * lcm;
}
