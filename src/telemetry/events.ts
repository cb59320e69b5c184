/**
 * The typed events molt emits, one union for every lifecycle and call event.
 * docs/telemetry.md lists them with their fields.
 *
 * @module
 */
import type { ErrorCategory, Severity } from "../resilience/classify.ts";
import type { Arm, RouteReason } from "../routing/route.ts";

/** How one `pool.execute` ended. `rejected`: refused before any worker saw it. */
export type CallOutcome = "ok" | "python_error" | "failed" | "rejected";

/** Why a worker was replaced while still running. */
export type RecycleReason =
  | "max_requests"
  | "max_rss"
  | "deadline_overrun"
  | "consecutive_failures"
  | "heartbeat"
  | "scaled_down"
  | "overflow_idle";

/** Why the pool changed its size. */
export type ScaleReason = "utilisation_high" | "utilisation_low" | "overflow" | "overflow_idle";

interface Base {
  /** The pool's name. */
  readonly pool: string;
  /** Wall-clock time of the event (ms since the epoch). */
  readonly at: number;
}

/** Every event on a pool's bus; match on `type`. */
export type MoltEvent =
  | Base & { readonly type: "pool.started"; readonly ready: number; readonly startMs: number }
  | Base & { readonly type: "pool.changed"; readonly from: string; readonly to: string }
  | Base & { readonly type: "pool.scaled"; readonly from: number; readonly to: number; readonly reason: ScaleReason }
  | Base & { readonly type: "pool.drained"; readonly completed: number; readonly failed: number; readonly rejected: number }
  | Base & { readonly type: "pool.stopped" }
  | Base & { readonly type: "worker.started"; readonly workerId: string; readonly pid: number; readonly startMs: number; readonly replacing: boolean }
  | Base & {
    readonly type: "worker.start.failed";
    readonly workerId: string;
    readonly detail: string;
    readonly attempt: number;
  }
  | Base & {
    readonly type: "worker.exited";
    readonly workerId: string;
    readonly pid: number;
    readonly exitCode: number | null;
    readonly signal: string | null;
    /** False when the process died on its own (a crash), true when the pool stopped it. */
    readonly expected: boolean;
  }
  | Base & { readonly type: "worker.degraded"; readonly workerId: string; readonly pid: number; readonly reason: string }
  | Base & { readonly type: "worker.recycled"; readonly workerId: string; readonly pid: number; readonly reason: RecycleReason }
  | Base & { readonly type: "worker.sampled"; readonly workerId: string; readonly pid: number; readonly rssBytes: number }
  | Base & {
    readonly type: "call.completed";
    readonly command: string;
    readonly outcome: CallOutcome;
    /** The error's category, null on success. */
    readonly category: ErrorCategory | null;
    readonly severity: Severity | null;
    /** The error's `_tag`, null on success. */
    readonly error: string | null;
    readonly latencyMs: number;
    readonly attempts: number;
  }
  | Base & { readonly type: "call.retried"; readonly command: string; readonly attempt: number; readonly category: ErrorCategory; readonly delayMs: number }
  | Base & { readonly type: "breaker.changed"; readonly from: string; readonly to: string }
  | Base & {
    /** A worker position's breaker moved: the worker at it (if any) left dispatch (open) or came back (closed). */
    readonly type: "worker.breaker.changed";
    readonly position: number;
    readonly workerId: string | null;
    readonly from: string;
    readonly to: string;
  }
  | Base & {
    /** A pool began obeying a kill switch of its `flags` (and at creation, when one is off). */
    readonly type: "pool.flag.applied";
    readonly flag: "circuit_breaker" | "pool_optimizer";
    readonly enabled: boolean;
  }
  | Base & { readonly type: "store.failed"; readonly operation: string; readonly detail: string }
  | Base & {
    /** A router chose an arm; `pool` is the arm's pool. */
    readonly type: "route.decided";
    readonly command: string;
    readonly arm: Arm;
    readonly reason: RouteReason;
    /** The sticky key's bucket, null when V2 is off. */
    readonly bucket: number | null;
    /** MurmurHash3 of the sticky key (hex), null without one: correlates calls without logging the key. */
    readonly keyHash: string | null;
  }
  | Base & {
    /** A rollout's tick failed (a store write, a pool read); `pool` is V2's pool. Nothing it would have changed was applied. */
    readonly type: "rollout.tick_failed";
    readonly rolloutId: string;
    /** The error's `_tag`, or "Error". */
    readonly error: string;
    readonly detail: string;
    /** Failed ticks in a row, this one included. */
    readonly consecutive: number;
  }
  | Base & {
    /** After `maxTickFailures` failed ticks in a row the rollout holds its share, and its clock, until a tick succeeds; `pool` is V2's pool. */
    readonly type: "rollout.held";
    readonly rolloutId: string;
    readonly failures: number;
    readonly detail: string;
  }
  | Base & {
    /** A held rollout ticked again; the time since its last good tick did not count toward its stage. `pool` is V2's pool. */
    readonly type: "rollout.recovered";
    readonly rolloutId: string;
    readonly failures: number;
    readonly discardedMs: number;
  }
  | Base & {
    /** A fleet node took the lease of its rollout and leads it now; `pool` is V2's pool. */
    readonly type: "fleet.leader_elected";
    readonly rolloutId: string;
    readonly nodeId: string;
    readonly term: number;
  }
  | Base & {
    /** A fleet node stopped leading: its term is over (another node holds a newer one), it lost the store, or it stopped. */
    readonly type: "fleet.leader_lost";
    readonly rolloutId: string;
    readonly nodeId: string;
    readonly term: number;
    readonly reason: string;
  }
  | Base & {
    /** A fleet node has not reached the store for `storeLostAfterMs`: it serves with the last share it heard ("hold") or sends everything to V1 ("v1"). */
    readonly type: "fleet.store_lost";
    readonly nodeId: string;
    readonly fallback: "hold" | "v1";
    readonly sinceMs: number;
  }
  | Base & {
    /** A fleet node reached the store again after losing it; the share is the store's again. */
    readonly type: "fleet.store_recovered";
    readonly nodeId: string;
    readonly lostMs: number;
  }
  | Base & {
    /** A shadow call was compared with the serving one; `pool` is the shadow arm's pool. */
    readonly type: "shadow.compared";
    readonly command: string;
    readonly servingArm: Arm;
    readonly shadowArm: Arm;
    readonly outcome: "match" | "mismatch" | "failed";
  };

/** The `type` of every event. */
export type MoltEventType = MoltEvent["type"];

/** A function that receives events. */
export type EventListener = (event: MoltEvent) => void;

/**
 * A synchronous, typed event bus. A listener that throws is reported on
 * `console.error` and does not stop the others or the pool.
 *
 * @example
 * ```ts
 * import { EventBus } from "molt";
 * const bus = new EventBus();
 * const off = bus.subscribe((e) => console.log(e.type)); // pool.stopped
 * bus.emit({ type: "pool.stopped", pool: "v1", at: Date.now() });
 * off();
 * ```
 */
export class EventBus {
  private listeners: readonly EventListener[] = [];

  /** Whether anyone listens; emitters skip building events when not. */
  get active(): boolean {
    return this.listeners.length > 0;
  }

  /** Add a listener; returns the function that removes it. */
  subscribe(listener: EventListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== listener);
    };
  }

  /** Deliver `event` to every listener, in subscription order. */
  emit(event: MoltEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (e) {
        console.error(`[molt] an event listener threw on ${event.type}:`, e);
      }
    }
  }
}
