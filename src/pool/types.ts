/**
 * The public shape of a pool: what `createPool` returns and what its
 * reports contain.
 *
 * @module
 */
import type { StreamOptions } from "../worker/chunk-stream.ts";
import type { BreakerState } from "../../machines/breaker.ts";
import type { PoolState } from "../../machines/pool.ts";
import type { WorkerState } from "../../machines/worker.ts";
import type { Rule } from "../config.ts";
import type { EventBus } from "../telemetry/events.ts";
import type { IntervalTotals, WindowTotals } from "../telemetry/metrics-window.ts";
import type { Affinity, Strategy } from "./options.ts";

/** Per-call options of `pool.execute`. */
export interface ExecuteOptions {
  /** Session id: passed to the handler as `ctx.session`, and the key of affinity. */
  readonly sessionId?: string;
  /** Deadline of the whole call, queueing and retries included. Default: the pool's `callTimeoutMs` (30000 ms). */
  readonly timeoutMs?: number;
  /** Abort waiting (in the queue, or for the answer). */
  readonly signal?: AbortSignal;
  /** The call may run twice without harm, so it may be retried after it reached Python. Default false. */
  readonly idempotent?: boolean;
  /**
   * A check's own call (verification's probes, a synthetic health call):
   * served like any other, but kept out of the counters, metric windows and
   * `call.completed` events the pool is judged by. Default false.
   */
  readonly probe?: boolean;
}

/** Counters since the pool started. */
export interface PoolStats {
  readonly name: string;
  readonly strategy: Strategy;
  readonly state: PoolState;
  readonly calls: number;
  readonly ok: number;
  readonly pythonErrors: number;
  readonly failed: number;
  readonly rejected: number;
  readonly retries: number;
  readonly crashes: number;
  readonly restarts: number;
  readonly recycled: number;
  readonly inFlight: number;
  readonly queued: number;
  /** Calls dispatched with a session under affinity ("hint" or "strict"). */
  readonly sessionCalls: number;
  /** Sessions that moved to another worker while theirs still served (affinity gave way: the worker was full). */
  readonly sessionsMoved: number;
  /** Sessions that moved because their worker was gone (crashed, recycled, stopped). */
  readonly sessionsRebound: number;
}

/** One worker in a metrics report. */
export interface WorkerMetrics {
  readonly id: string;
  readonly pid: number;
  readonly state: WorkerState;
  readonly inFlight: number;
  /** Calls cancelled (aborted, or past their deadline) that still run in Python: the pool sends it nothing new meanwhile. */
  readonly cancelling: number;
  readonly served: number;
  readonly overflow: boolean;
  /** Last sampled RSS, or null before the first sample. */
  readonly rssBytes: number | null;
  /** When `rssBytes` was sampled (ms since the epoch), or null before the first sample. */
  readonly rssSampledAt: number | null;
  /** Its place in the pool: a replacement takes the place, and the breaker, of the worker it replaces. */
  readonly position: number;
  /** Its position's breaker; "bypassed" while the `circuit_breaker` flag is off; null without breakers. */
  readonly breaker: BreakerState | "bypassed" | null;
}

/** The pool's rolling window plus its gauges: what the monitor judges. */
export interface PoolMetrics extends WindowTotals {
  readonly pool: string;
  readonly strategy: Strategy;
  readonly state: PoolState;
  readonly windowMs: number;
  /** How long one slice of the window is: what `interval` reads whole. */
  readonly sliceMs: number;
  /** Target size (not counting overflow). */
  readonly size: number;
  readonly ready: number;
  readonly starting: number;
  readonly inFlight: number;
  readonly queueDepth: number;
  /** Calls in flight over capacity (ready workers × capacity), 0–1. */
  readonly utilisation: number;
  /** The pool's gate over its workers' breakers; "bypassed" while the `circuit_breaker` flag is off; null without breakers. */
  readonly breaker: BreakerState | "bypassed" | null;
  readonly workers: readonly WorkerMetrics[];
}

/** One worker's answer to `health`. */
export interface WorkerHealthReport {
  readonly id: string;
  readonly pid: number;
  readonly state: WorkerState;
  readonly ok: boolean;
  readonly rssBytes: number | null;
  readonly uptimeS: number | null;
  /** Why the check failed, when it did. */
  readonly error: string | null;
}

/** The result of `pool.health()`. */
export interface PoolHealth {
  readonly pool: string;
  readonly state: PoolState;
  /** Serving, breaker not open, and every checked worker answered. */
  readonly healthy: boolean;
  /** The pool's gate over its workers' breakers; "bypassed" while the `circuit_breaker` flag is off; null without breakers. */
  readonly breaker: BreakerState | "bypassed" | null;
  readonly workers: readonly WorkerHealthReport[];
}

/** What `drain` did. */
export interface DrainReport {
  /** Calls in flight or queued when the drain began that finished on their own. */
  readonly completed: number;
  /** Calls failed at the deadline with PoolDrainingError. */
  readonly failed: number;
  /** New calls refused during the drain. */
  readonly rejected: number;
  readonly durationMs: number;
}

/** The last stderr lines of one of a pool's workers, running or exited. */
export interface WorkerStderr {
  readonly workerId: string;
  readonly pid: number;
  /** Whether the process has exited (then its exit code or signal). */
  readonly exited: boolean;
  readonly exitCode: number | null;
  readonly signal: string | null;
  /** Its last `stderrTailLines` lines. */
  readonly lines: readonly string[];
}

/**
 * A pool's options after defaults, as plain JSON: what it was really started
 * with. The event bus, store and flags appear as whether the pool has one;
 * `env` keeps its names and hides its values (they often hold secrets, and
 * this goes into backups and archives on disk).
 */
export type ResolvedPoolConfiguration = Readonly<Record<string, unknown>>;

/**
 * A pool of Python workers. See {@link createPool}.
 */
export interface Pool {
  readonly name: string;
  readonly strategy: Strategy;
  readonly affinity: Affinity;
  /** Lifecycle and call events. */
  readonly events: EventBus;
  /** The pool's lifecycle state (see machines/pool.ts). */
  readonly state: PoolState;
  /** Run `command` on a worker; resolves with its result or rejects with a tagged error. */
  execute<T = unknown>(command: string, args?: unknown, options?: ExecuteOptions): Promise<T>;
  /**
   * Run a command whose handler yields, and iterate over its items as they
   * come (see `Worker.stream`): dispatched, queued, judged by the breaker
   * and counted like `execute`, and retried (when it may be) only until the
   * first item reached the consumer.
   */
  stream<T = unknown>(command: string, args?: unknown, options?: ExecuteOptions & StreamOptions): AsyncIterableIterator<T>;
  stats(): PoolStats;
  metrics(): PoolMetrics;
  /** The window's totals over the whole slices that started in [from, to) and have ended (what a fleet node publishes); with `open`, the slice under way too. */
  interval(from: number, to: number, open?: boolean): IntervalTotals;
  /** Ask every worker for its health (pid, RSS, uptime). */
  health(): Promise<PoolHealth>;
  /** Refuse new calls, let calls finish until the deadline, fail the rest. */
  drain(options?: { readonly deadlineMs?: number }): Promise<DrainReport>;
  /** Drain (with the workers' `drainTimeoutMs`), then stop every worker and loop. */
  stop(): Promise<void>;
  /** The last stderr lines of its workers: those running, then the last ones that exited (up to 16, newest last). */
  stderr(): readonly WorkerStderr[];
  /** Its resolved options as JSON (see {@link ResolvedPoolConfiguration}). */
  configuration(): ResolvedPoolConfiguration;
  /** The breakers' state (the gate's and each position's cockatiel state), for `breaker.initialState` after a restart; null without breakers. */
  breakerState(): unknown;
}

/** A Pool from createPool(), as an option that takes one. */
export const poolRule: Rule<Pool> = {
  is: (v): v is Pool => typeof (v as Pool | null)?.execute === "function" && typeof (v as Pool).health === "function",
  allowed: "a Pool from createPool()",
};
