/**
 * createPool: a pool of Python workers with one of two strategies.
 *
 * "basic" (V1): one call per worker, a FIFO queue, workers started one after
 * another, no breaker, no retry. "enhanced" (V2): concurrent start,
 * least-loaded dispatch with pipelining up to `capacity`, session affinity, a
 * bounded queue, supervision, recycling, overflow and an optimizer, retry of
 * safe calls and a circuit breaker. Both never hang a caller: every call
 * settles by its deadline.
 *
 * @module
 */
import { ExponentialBackoff, type IBackoff } from "cockatiel";
import * as Effect from "effect/Effect";
import * as Schedule from "effect/Schedule";
import { type Actor, createActor } from "xstate";
import type { BreakerState } from "../../machines/breaker.ts";
import { poolMachine, type PoolState } from "../../machines/pool.ts";
import {
  BreakerOpenError,
  CallAbortedError,
  ConfigError,
  PoolDrainingError,
  PoolSaturatedError,
  QueueTimeoutError,
  SessionWorkerLostError,
} from "../errors.ts";
import { nonNegativeDuration } from "../config.ts";
import type { PoolBreaker } from "../resilience/breaker.ts";
import { classifyError } from "../resilience/classify.ts";
import { type CallOutcome, EventBus, type MoltEvent } from "../telemetry/events.ts";
import { type IntervalTotals, MetricsWindow } from "../telemetry/metrics-window.ts";
import type { BinaryArgs } from "../protocol/attachments.ts";
import { checkCall } from "../worker/call-check.ts";
import { resolveWorkerOptions } from "../worker/options.ts";
import { type Deadlined, PendingTable } from "../worker/pending.ts";
import { type Affinity, type PoolOptions, resolvePoolOptions, type ResolvedPoolOptions, type Strategy } from "./options.ts";
import { PoolBreakers } from "./breakers.ts";
import { decideScale } from "./scaling.ts";
import { type RemovalCause, type Slot, Supervisor } from "./supervisor.ts";
import { configurationOf } from "./configuration.ts";
import { type ChunkSink, ChunkStream, SINK, type StreamOptions, streamWindow, withStop } from "../worker/chunk-stream.ts";

import type {
  DrainReport,
  ExecuteOptions,
  Pool,
  ResolvedPoolConfiguration,
  PoolHealth,
  PoolMetrics,
  PoolStats,
  WorkerHealthReport,
  WorkerStderr,
} from "./types.ts";

/** Execute options that carry a stream (pool.stream). */
type Streamed = ExecuteOptions & { readonly [SINK]?: ChunkSink };

/** A call waiting for a worker. */
interface Waiter extends Deadlined {
  readonly command: string;
  readonly session: string | undefined;
  /** Strict affinity: the only slot that may take it. */
  readonly slotId: string | null;
  readonly enqueuedAt: number;
  readonly limitMs: number;
  readonly run: (slot: Slot) => void;
  readonly fail: (error: unknown) => void;
}

const SESSION_LIMIT = 100_000;

/** Errors that end every call a worker has in flight at once: its exit, its broken stream. */
const isLoss = (error: unknown): boolean => {
  const tag = (error as { _tag?: string } | null)?._tag;
  return tag === "WorkerExitedError" || tag === "ProtocolError";
};

/**
 * Start a pool and resolve once it serves (`minReady` workers ready; all of
 * them for "basic"). Rejects with a ConfigError for a bad option and with the
 * WorkerStartError of the first worker that cannot start.
 *
 * @example
 * ```ts
 * import { createPool } from "molt";
 * const pool = await createPool({ name: "v2", handler: "./test/fixtures/echo_handler.py", size: 2, heartbeatMs: 0 });
 * const answers = await Promise.all([1, 2, 3].map((n) => pool.execute("echo", n)));
 * console.log(answers, pool.metrics().calls); // [1, 2, 3] 3
 * await pool.stop();
 * ```
 */
export async function createPool(options: PoolOptions): Promise<Pool> {
  const config = resolvePoolOptions(options);
  const worker = resolveWorkerOptions({ ...config.worker, id: `${config.name}-0` });
  const pool = new PoolImpl(config, worker.callTimeoutMs, worker.drainTimeoutMs);
  await pool.restoreBreakers();
  await pool.start();
  return pool;
}

class PoolImpl implements Pool {
  readonly name: string;
  readonly strategy: Strategy;
  readonly affinity: Affinity;
  readonly events: EventBus;
  state: PoolState = "starting";
  private readonly actor: Actor<typeof poolMachine>;
  private readonly supervisor: Supervisor;
  /** The gate and the worker positions' breakers; null without a breaker. */
  private breakers: PoolBreakers | null = null;
  /** Wakes the queue when an open position's breaker lets its probe through. */
  private probeTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly window: MetricsWindow;
  private readonly queue: PendingTable<Waiter>;
  private readonly sessions = new Map<string, string>();
  private readonly crashed = new WeakSet<Slot>();
  private readonly sleeps = new Set<{ timer: ReturnType<typeof setTimeout>; wake: () => void }>();
  private readonly backoff: ExponentialBackoff<unknown> | null;
  private readonly counts = {
    calls: 0, ok: 0, pythonErrors: 0, failed: 0, rejected: 0, retries: 0, crashes: 0, restarts: 0, recycled: 0, sessionCalls: 0, sessionsMoved: 0, sessionsRebound: 0,
  };
  private accepting = false;
  private stopped = false;
  private inFlight = 0;
  private nextWaiter = 1;
  private busyArea = 0;
  private busyAt = performance.now();
  private judgedAt = performance.now();
  private queuedSince: number | null = null;
  private scaledAt: number | null = null;
  private readyWaiter: { resolve: () => void; reject: (e: unknown) => void } | null = null;
  /** The kill switches of `flags` (on without flags). */
  private breakerOn = true;
  private optimizerOn = true;
  private unsubscribeFlags: () => void = () => {};
  private drainWaiter: (() => void) | null = null;
  private draining: Promise<DrainReport> | null = null;
  private stopping: Promise<void> | null = null;

  constructor(
    private readonly o: ResolvedPoolOptions,
    private readonly callTimeoutMs: number,
    private readonly drainTimeoutMs: number,
  ) {
    this.name = o.name;
    this.strategy = o.strategy;
    this.affinity = o.affinity;
    this.events = o.events ?? new EventBus();
    this.window = new MetricsWindow({ windowMs: o.windowMs, slices: o.windowSlices });
    this.queue = new PendingTable<Waiter>(() => performance.now(), (w) => this.queueExpired(w));
    this.actor = createActor(poolMachine, { input: { poolName: o.name, minReady: o.minReady, target: o.size } }).start();
    this.backoff = o.retry === null ? null : new ExponentialBackoff({ initialDelay: o.retry.initialDelayMs, maxDelay: o.retry.maxDelayMs });
    this.supervisor = new Supervisor(o, {
      adopted: (slot) => this.adopted(slot),
      available: (slot) => this.pump(slot),
      removed: (slot, cause) => this.removed(slot, cause),
      startFailed: (workerId, error, attempt) =>
        this.emit({ type: "worker.start.failed", pool: o.name, at: Date.now(), workerId, detail: String((error as Error).message ?? error), attempt }),
      mayRetry: () => this.state !== "starting",
      gaveUp: (error) => this.readyWaiter?.reject(error),
      exited: (slot, exitCode, signal) =>
        this.emit({ type: "worker.exited", pool: o.name, at: Date.now(), workerId: slot.id, pid: slot.worker.pid, exitCode, signal, expected: !this.crashed.has(slot) }),
      sampled: (slot) => {
        this.emit({ type: "worker.sampled", pool: o.name, at: Date.now(), workerId: slot.id, pid: slot.worker.pid, rssBytes: slot.rssBytes ?? 0 });
        if (o.maxRssBytes > 0 && (slot.rssBytes ?? 0) > o.maxRssBytes) this.supervisor.retire(slot, "max_rss");
      },
    });
  }

  /** The breakers, restored from the store (or `breaker.initialState`) when given. */
  async restoreBreakers(): Promise<void> {
    const o = this.o;
    if (o.breaker === null) return;
    this.breakers = await PoolBreakers.create(o.name, o.breaker, o.size, o.store, {
      gateChanged: (from, to) => this.emit({ type: "breaker.changed", pool: o.name, at: Date.now(), from, to }),
      positionChanged: (position, from, to) => {
        const workerId = this.supervisor.slots.find((s) => s.position === position)?.id ?? null;
        this.emit({ type: "worker.breaker.changed", pool: o.name, at: Date.now(), position, workerId, from, to });
        // A position that opened may take its probe later, and the queue must hear of it then.
        if (to === "open") this.wakeForProbe();
      },
      storeFailed: (operation, error) => this.emit({ type: "store.failed", pool: o.name, at: Date.now(), operation, detail: String((error as Error).message ?? error) }),
    }, () => this.supervisor.target, () => this.supervisor.slots.map((s) => s.position));
  }

  async start(): Promise<void> {
    const t0 = performance.now();
    const ready = new Promise<void>((resolve, reject) => (this.readyWaiter = { resolve, reject }));
    this.supervisor.ensure();
    try {
      await ready;
    } catch (e) {
      this.readyWaiter = null;
      await this.stop();
      throw e;
    }
    this.readyWaiter = null;
    this.accepting = true;
    this.followFlags();
    this.startHousekeeping();
    this.emit({ type: "pool.started", pool: this.name, at: Date.now(), ready: this.supervisor.slots.length, startMs: performance.now() - t0 });
  }

  execute<T = unknown>(command: string, args?: unknown, options: ExecuteOptions = {}): Promise<T> {
    const t0 = performance.now();
    const checked = this.check(command, args, options);
    if (checked instanceof ConfigError) return Promise.reject(checked);
    if (!this.accepting) {
      const error = new PoolDrainingError({ pool: this.name, command, state: this.state, inFlight: false });
      this.finish(command, error, t0, 0, options);
      return Promise.reject(error);
    }
    // Args with bytes go on wrapped (the check found them): the worker sends those with attachments.
    return this.run(command, checked ?? args ?? null, options, t0, t0 + (options.timeoutMs ?? this.callTimeoutMs)) as Promise<T>;
  }

  stream<T = unknown>(command: string, args?: unknown, options: ExecuteOptions & StreamOptions = {}): AsyncIterableIterator<T> {
    const { window, ...rest } = options;
    const size = streamWindow(`pool "${this.name}"`, window);
    return new ChunkStream<T>(size, (sink) => this.execute(command, args, { ...rest, signal: withStop(rest.signal, sink), [SINK]: sink } as Streamed));
  }

  stats(): PoolStats {
    return { name: this.name, strategy: this.strategy, state: this.state, ...this.counts, inFlight: this.inFlight, queued: this.queue.size };
  }

  metrics(): PoolMetrics {
    const slots = this.supervisor.slots;
    const ready = slots.filter((s) => s.worker.state === "ready").length;
    return {
      ...this.window.totals(),
      pool: this.name,
      strategy: this.strategy,
      state: this.state,
      windowMs: this.o.windowMs,
      sliceMs: this.window.sliceLengthMs,
      size: this.supervisor.target,
      ready,
      starting: this.supervisor.pending,
      inFlight: this.inFlight,
      queueDepth: this.queue.size,
      utilisation: ready === 0 ? (this.inFlight > 0 ? 1 : 0) : Math.min(1, this.inFlight / (ready * this.o.capacity)),
      breaker: this.breakerReport(),
      workers: slots.map((s) => ({
        id: s.id,
        pid: s.worker.pid,
        state: s.worker.state,
        inFlight: s.inFlight,
        cancelling: s.worker.cancelsOutstanding,
        served: s.served,
        overflow: s.overflow,
        rssBytes: s.rssBytes,
        rssSampledAt: s.rssSampledAt,
        position: s.position,
        breaker: this.breakers === null ? null : this.breakerOn ? this.breakers.at(s.position).state : "bypassed",
      })),
    };
  }

  interval(from: number, to: number, open = false): IntervalTotals {
    return this.window.interval(from, to, open);
  }

  async health(): Promise<PoolHealth> {
    const workers = await Promise.all(this.supervisor.slots.map(async (s): Promise<WorkerHealthReport> => {
      const base = { id: s.id, pid: s.worker.pid, state: s.worker.state };
      try {
        const h = await s.worker.health({ timeoutMs: 2000 });
        return { ...base, ok: true, rssBytes: h.rssBytes, uptimeS: h.uptimeS, error: null };
      } catch (e) {
        return { ...base, ok: false, rssBytes: null, uptimeS: null, error: (e as Error).message };
      }
    }));
    const breaker = this.breakerReport();
    const serving = this.state === "serving" || this.state === "degraded";
    const healthy = serving && breaker !== "open" && breaker !== "isolated" && workers.length > 0 && workers.every((w) => w.ok);
    return { pool: this.name, state: this.state, healthy, breaker, workers };
  }

  drain(options: { readonly deadlineMs?: number } = {}): Promise<DrainReport> {
    const deadlineMs = options.deadlineMs ?? this.drainTimeoutMs;
    if (!nonNegativeDuration.is(deadlineMs)) {
      return Promise.reject(new ConfigError({ owner: `pool "${this.name}" drain`, option: "deadlineMs", received: deadlineMs, allowed: nonNegativeDuration.allowed }));
    }
    this.draining ??= this.drainFor(deadlineMs);
    return this.draining;
  }

  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await this.drain({ deadlineMs: this.drainTimeoutMs });
      this.stopped = true;
      this.unsubscribeFlags();
      // Empty by now, but its deadline timer may still be armed for a call that left it long ago.
      for (const w of this.queue.takeAll()) w.fail(new PoolDrainingError({ pool: this.name, command: w.command, state: "stopped", inFlight: false }));
      for (const sleep of this.sleeps) sleep.wake();
      await this.supervisor.close();
      clearTimeout(this.probeTimer);
      await this.breakers?.stop();
      this.send({ type: "workers.stopped", now: Date.now() });
      this.actor.stop();
      this.emit({ type: "pool.stopped", pool: this.name, at: Date.now() });
    })();
    return this.stopping;
  }

  breakerState(): unknown {
    return this.breakers?.toJSON() ?? null;
  }

  stderr(): readonly WorkerStderr[] {
    const ended = this.supervisor.ended;
    const gone = new Set(ended.map((e) => e.workerId));
    const running = this.supervisor.slots.filter((s) => !gone.has(s.id)).map((s): WorkerStderr => (
      { workerId: s.id, pid: s.worker.pid, exited: false, exitCode: null, signal: null, lines: s.worker.stderrTail() }
    ));
    return [...running, ...ended];
  }

  configuration(): ResolvedPoolConfiguration {
    return configurationOf({ ...this.o, size: this.supervisor.target });
  }

  /** Obey the kill switches now and whenever they change. */
  private followFlags(): void {
    const flags = this.o.flags;
    if (flags === undefined) return;
    const apply = (flag: "circuit_breaker" | "pool_optimizer", on: boolean): void => {
      const was = flag === "circuit_breaker" ? this.breakerOn : this.optimizerOn;
      if (flag === "circuit_breaker") this.breakerOn = on;
      else this.optimizerOn = on;
      if (was !== on) this.emit({ type: "pool.flag.applied", pool: this.name, at: Date.now(), flag, enabled: on });
    };
    apply("circuit_breaker", flags.get("circuit_breaker"));
    apply("pool_optimizer", flags.get("pool_optimizer"));
    this.unsubscribeFlags = flags.subscribe((u) => {
      if (u.flag === "circuit_breaker" || u.flag === "pool_optimizer") apply(u.flag, u.to === true);
    });
  }

  /** The gate as reported: a bypassed one guards nothing, whatever its state. */
  private breakerReport(): BreakerState | "bypassed" | null {
    return this.breakers === null ? null : this.breakerOn ? this.breakers.gate.state : "bypassed";
  }

  /** The breaker a call to `slot` goes through: none without breakers, or while the `circuit_breaker` flag is off. */
  private breakerOf(slot: Slot): PoolBreaker | null {
    return this.breakers === null || !this.breakerOn ? null : this.breakers.at(slot.position);
  }

  private run(command: string, args: unknown, o: ExecuteOptions, t0: number, deadline: number): Promise<unknown> {
    const gate = this.breakers === null || !this.breakerOn ? null : this.breakers.gate;
    if (gate !== null && !gate.closed) {
      if (gate.admit() === "refuse") return this.retry(new BreakerOpenError({ pool: this.name, command, state: "open" }), command, args, o, t0, deadline);
      // The gate's probe: any error, not only one the breakers count, keeps the gate open.
      return this.attempt(command, args, o, deadline).then(
        (result) => {
          gate.probed(true, this.breakers!.healthy());
          return this.succeeded(result, command, t0, 1, o);
        },
        (error) => {
          gate.probed(false, false);
          return this.retry(error, command, args, o, t0, deadline);
        },
      );
    }
    // The hot path: one derived promise, the outcome reported directly.
    return this.attempt(command, args, o, deadline).then(
      (result) => this.succeeded(result, command, t0, 1, o),
      (error) => this.retry(error, command, args, o, t0, deadline),
    );
  }

  private succeeded(result: unknown, command: string, t0: number, attempts: number, o: ExecuteOptions): unknown {
    this.finish(command, null, t0, attempts, o);
    return result;
  }

  /** The slow path: retry a failed first attempt while it is safe and time remains. */
  private async retry(error: unknown, command: string, args: unknown, o: ExecuteOptions, t0: number, deadline: number): Promise<unknown> {
    let backoff: IBackoff<unknown> | undefined;
    let attempt = 1;
    for (;;) {
      const k = classifyError(error);
      // A stream that delivered a chunk is never retried: the consumer has it already.
      const safe = ((k.category === "connection" && !k.mayHaveRun) || (o.idempotent === true && k.infrastructure)) && (o as Streamed)[SINK]?.delivered !== true;
      if (this.backoff === null || this.o.retry === null || !safe || attempt > this.o.retry.attempts || this.stopped) break;
      backoff = (backoff ?? this.backoff).next(undefined);
      if (performance.now() + backoff.duration >= deadline) break;
      this.counts.retries++;
      this.emit({ type: "call.retried", pool: this.name, at: Date.now(), command, attempt, category: k.category, delayMs: backoff.duration });
      await this.sleep(backoff.duration);
      try {
        return this.succeeded(await this.attempt(command, args, o, deadline), command, t0, attempt + 1, o);
      } catch (e) {
        error = e;
      }
      attempt++;
    }
    this.finish(command, error, t0, attempt, o);
    throw error;
  }

  private attempt(command: string, args: unknown, o: ExecuteOptions, deadline: number): Promise<unknown> {
    if (this.stopped) return Promise.reject(new PoolDrainingError({ pool: this.name, command, state: "stopped", inFlight: false }));
    const session = this.affinity === "none" ? undefined : o.sessionId;
    let target: string | null = null;
    if (session !== undefined) {
      const bound = this.sessions.get(session);
      if (bound !== undefined) {
        const slot = this.supervisor.slots.find((s) => s.id === bound);
        if (slot === undefined) {
          if (this.affinity === "strict") {
            return Promise.reject(new SessionWorkerLostError({ pool: this.name, command, sessionId: session, workerId: bound }));
          }
          // The stale binding stays until the call lands elsewhere: bind() then records the move as caused by the loss.
        } else if (this.eligible(slot)) {
          return this.callOn(slot, command, args, o, deadline);
        } else if (this.affinity === "strict") {
          target = bound;
        }
      }
    }
    if (target === null) {
      const slot = this.leastLoaded();
      if (slot !== undefined) return this.callOn(slot, command, args, o, deadline);
    }
    return this.enqueue(command, args, o, deadline, target);
  }

  /** Ready, not full, no cancelled call still running in it, and its position's breaker lets a call through (closed, or due for its probe). */
  private eligible(slot: Slot): boolean {
    return slot.inFlight < this.o.capacity && slot.worker.state === "ready" && slot.worker.cancelsOutstanding === 0 &&
      (this.breakerOf(slot)?.admits() ?? true);
  }

  /**
   * The worker with the fewest calls in flight — unless one whose breaker is due for its probe is
   * eligible: that one first, or under light traffic a worker after the healthy ones in order would
   * never be probed back in (nor, with the gate open, would the gate's probes ever reach it).
   */
  private leastLoaded(): Slot | undefined {
    let best: Slot | undefined;
    for (const slot of this.supervisor.slots) {
      if (!this.eligible(slot)) continue;
      if (this.breakerOf(slot)?.closed === false) return slot;
      if (best === undefined || slot.inFlight < best.inFlight) best = slot;
    }
    return best;
  }

  private callOn(slot: Slot, command: string, args: unknown, o: ExecuteOptions, deadline: number): Promise<unknown> {
    const now = performance.now();
    this.track(now, 1);
    slot.inFlight++;
    slot.served++;
    const session = o.sessionId;
    if (session !== undefined && this.affinity !== "none") {
      this.counts.sessionCalls++;
      this.bind(session, slot.id);
    }
    // execute() has checked the call: the worker need not walk the args again.
    const callOptions = { timeoutMs: Math.max(1, deadline - now), signal: o.signal, sessionId: session };
    const sink = (o as Streamed)[SINK];
    // A closed breaker is told of each outcome after the fact (the hot path); an open one due for its
    // probe runs the call itself, so that cockatiel judges the probe.
    const breaker = this.breakerOf(slot);
    const probe = breaker !== null && !breaker.closed;
    const call = probe
      ? breaker.execute(command, () => slot.worker.callChecked(command, args, callOptions, sink))
      : slot.worker.callChecked(command, args, callOptions, sink);
    const told = probe ? null : breaker;
    if (this.o.maxRequestsPerWorker > 0 && slot.served >= this.o.maxRequestsPerWorker) this.supervisor.retire(slot, "max_requests");
    return call.then(
      (result) => {
        this.settled(slot, null, told);
        return result;
      },
      (error) => {
        this.settled(slot, error, told);
        throw error;
      },
    );
  }

  private settled(slot: Slot, error: unknown, breaker: PoolBreaker | null): void {
    const now = performance.now();
    this.track(now, -1);
    slot.inFlight--;
    slot.idleSince = now;
    // Only a breaker still closed hears of the outcome: one that opened meanwhile, or has a probe out,
    // must not count a call sent before. A worker's exit or broken stream fails every call it had at
    // once: that is one failure of that worker, not one per call.
    let recorded: Promise<unknown> | null = null;
    if (breaker !== null && breaker.closed) {
      if (error === null) breaker.succeeded();
      else if (!slot.lost) {
        slot.lost = isLoss(error);
        recorded = breaker.failed(error).catch(() => {});
      }
    }
    if (error === null) {
      slot.failures = 0;
    } else if (this.strategy === "enhanced") {
      const k = classifyError(error);
      if (!k.infrastructure) slot.failures = 0;
      else if (++slot.failures >= this.o.maxConsecutiveFailures) this.supervisor.retire(slot, "consecutive_failures");
    }
    // pump() ends in queueChanged(), which also wakes a drain once nothing is left. After a failure,
    // only once the breaker has counted it: it may be about to take this worker out of dispatch.
    if (recorded === null) this.pump(slot);
    else void recorded.then(() => this.pump(slot));
  }

  private bind(session: string, slotId: string): void {
    const before = this.sessions.get(session);
    if (before === slotId) return;
    if (before !== undefined) {
      // Its worker still serving means affinity gave way (the worker was full); otherwise the worker was lost.
      const kept = this.supervisor.slots.find((s) => s.id === before);
      if (kept !== undefined && kept.worker.state === "ready") this.counts.sessionsMoved++;
      else this.counts.sessionsRebound++;
    }
    this.sessions.delete(session);
    this.sessions.set(session, slotId);
    if (this.sessions.size > SESSION_LIMIT) this.sessions.delete(this.sessions.keys().next().value!);
  }

  private enqueue(command: string, args: unknown, o: ExecuteOptions, deadline: number, slotId: string | null): Promise<unknown> {
    if (this.queue.size >= this.o.maxQueue) {
      return Promise.reject(new PoolSaturatedError({ pool: this.name, command, queued: this.queue.size, maxQueue: this.o.maxQueue }));
    }
    const now = performance.now();
    const limitMs = Math.min(this.o.queueTimeoutMs, deadline - now);
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        id: this.nextWaiter++,
        deadline: now + limitMs,
        command,
        session: o.sessionId,
        slotId,
        enqueuedAt: now,
        limitMs,
        release: undefined,
        run: (slot) => this.callOn(slot, command, args, o, deadline).then(resolve, reject),
        fail: reject,
      };
      const signal = o.signal;
      if (signal !== undefined) {
        const onAbort = (): void => {
          if (this.queue.take(waiter.id) === undefined) return;
          reject(new CallAbortedError({ workerId: `${this.name}:queue`, requestId: 0, command, written: false }));
          this.queueChanged();
        };
        signal.addEventListener("abort", onAbort, { once: true });
        waiter.release = () => signal.removeEventListener("abort", onAbort);
      }
      this.queue.add(waiter);
      this.queuedSince ??= now;
      // Waiting perhaps for a worker whose breaker is open: wake the queue when its probe is due.
      if (this.breakers !== null && this.probeTimer === undefined) this.wakeForProbe();
    });
  }

  private pump(slot: Slot): void {
    while (this.queue.size > 0 && !slot.gone && this.eligible(slot)) {
      const waiter = this.queue.takeFirst((w) => w.slotId === null || w.slotId === slot.id);
      if (waiter === undefined) break;
      this.window.waited(performance.now() - waiter.enqueuedAt);
      waiter.run(slot);
    }
    this.queueChanged();
  }

  private queueChanged(): void {
    if (this.queue.size === 0) {
      this.queuedSince = null;
      if (this.drainWaiter !== null && this.inFlight === 0) this.drainWaiter();
    }
  }

  private queueExpired(w: Waiter): void {
    this.window.waited(performance.now() - w.enqueuedAt);
    w.fail(new QueueTimeoutError({ pool: this.name, command: w.command, waitedMs: Math.round(performance.now() - w.enqueuedAt), limitMs: Math.round(w.limitMs) }));
    this.queueChanged();
  }

  private finish(command: string, error: unknown, t0: number, attempts: number, o: ExecuteOptions): void {
    // A check's own call is served like any other, but the pool is not judged by it.
    if (o.probe === true) return;
    const latencyMs = performance.now() - t0;
    let outcome: CallOutcome = "ok";
    let category = null;
    let severity = null;
    let saturated = false;
    let tag: string | null = null;
    if (error !== null) {
      const k = classifyError(error);
      category = k.category;
      severity = k.severity;
      tag = (error as { _tag?: string })._tag ?? "Error";
      outcome = tag === "PythonError" ? "python_error" : !k.mayHaveRun && !k.infrastructure ? "rejected" : "failed";
      saturated = tag === "PoolSaturatedError" || tag === "QueueTimeoutError";
    }
    this.counts.calls++;
    if (outcome === "ok") this.counts.ok++;
    else if (outcome === "python_error") this.counts.pythonErrors++;
    else if (outcome === "rejected") this.counts.rejected++;
    else this.counts.failed++;
    this.window.record(outcome, category, latencyMs, saturated, tag);
    if (this.events.active) {
      this.emit({ type: "call.completed", pool: this.name, at: Date.now(), command, outcome, category, severity, error: tag, latencyMs, attempts });
    }
  }

  /** The worker's own checks of a call (so that a bad one is refused before it queues), and the pool's own options; else what checkCall answered. */
  private check(command: string, args: unknown, o: ExecuteOptions): ConfigError | BinaryArgs | null {
    const checked = checkCall("pool", this.name, command, args, o);
    if (checked instanceof ConfigError) return checked;
    for (const option of ["idempotent", "probe"] as const) {
      if (o[option] !== undefined && typeof o[option] !== "boolean") return new ConfigError({ owner: `pool "${this.name}" execute`, option, received: o[option], allowed: "a boolean" });
    }
    return checked;
  }

  private adopted(slot: Slot): void {
    // The lowest position no worker holds: a replacement takes the one its predecessor left, and its breaker.
    const held = new Set(this.supervisor.slots.filter((s) => s !== slot).map((s) => s.position));
    let position = 0;
    while (held.has(position)) position++;
    slot.position = position;
    if (slot.replacing) {
      this.counts.restarts++;
      this.window.restarted();
    }
    this.emit({ type: "worker.started", pool: this.name, at: Date.now(), workerId: slot.id, pid: slot.worker.pid, startMs: slot.startMs, replacing: slot.replacing });
    this.syncMachine();
    if (this.state !== "starting") this.readyWaiter?.resolve();
    this.pump(slot);
  }

  private removed(slot: Slot, cause: RemovalCause): void {
    if (cause === "crashed") {
      this.crashed.add(slot);
      this.counts.crashes++;
      this.window.crashed();
    } else {
      this.counts.recycled++;
      if (cause === "heartbeat" || cause === "deadline_overrun") {
        this.emit({ type: "worker.degraded", pool: this.name, at: Date.now(), workerId: slot.id, pid: slot.worker.pid, reason: cause });
      }
      this.emit({ type: "worker.recycled", pool: this.name, at: Date.now(), workerId: slot.id, pid: slot.worker.pid, reason: cause });
    }
    for (;;) {
      const w = this.queue.takeFirst((w) => w.slotId === slot.id);
      if (w === undefined) break;
      w.fail(new SessionWorkerLostError({ pool: this.name, command: w.command, sessionId: w.session ?? "", workerId: slot.id }));
    }
    this.queueChanged();
    this.syncMachine();
  }

  private syncMachine(): void {
    const ready = this.supervisor.slots.length;
    this.send({ type: "workers.changed", ready, target: this.supervisor.target + this.supervisor.overflowWanted, now: Date.now() });
  }

  private send(event: Parameters<Actor<typeof poolMachine>["send"]>[0]): void {
    const from = this.state;
    this.actor.send(event);
    this.state = this.actor.getSnapshot().value as PoolState;
    if (this.state !== from) this.emit({ type: "pool.changed", pool: this.name, at: Date.now(), from, to: this.state });
  }

  private emit(event: MoltEvent): void {
    if (this.events.active) this.events.emit(event);
  }

  private track(now: number, delta: number): void {
    this.busyArea += this.inFlight * (now - this.busyAt);
    this.busyAt = now;
    this.inFlight += delta;
  }

  /** Pump the queue when the first open position is due for its probe: nothing else would wake a call waiting for it. */
  private wakeForProbe(): void {
    clearTimeout(this.probeTimer);
    this.probeTimer = undefined;
    if (this.breakers === null || this.stopped || this.queue.size === 0) return;
    // Only a probe still to come: one already due is taken by the next pump (a settle, an adoption).
    const now = Date.now();
    let next = Infinity;
    for (const slot of this.supervisor.slots) {
      const at = this.breakers.at(slot.position).probeAt();
      if (at > now && at < next) next = at;
    }
    if (next === Infinity) return;
    this.probeTimer = setTimeout(() => {
      this.probeTimer = undefined;
      for (const slot of this.supervisor.slots) this.pump(slot);
      this.wakeForProbe();
    }, next - now);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const entry = {
        timer: setTimeout(() => entry.wake(), ms),
        wake: () => {
          clearTimeout(entry.timer);
          this.sleeps.delete(entry);
          resolve();
        },
      };
      this.sleeps.add(entry);
    });
  }

  private async drainFor(deadlineMs: number): Promise<DrainReport> {
    const t0 = performance.now();
    this.accepting = false;
    this.send({ type: "drain.requested", now: Date.now() });
    const pending = this.inFlight + this.queue.size + this.sleeps.size;
    const rejectedBefore = this.counts.rejected;
    let failed = 0;
    if (this.inFlight > 0 || this.queue.size > 0) {
      const done = await new Promise<boolean>((resolve) => {
        const timer = setTimeout(() => resolve(false), deadlineMs);
        this.drainWaiter = () => {
          clearTimeout(timer);
          resolve(true);
        };
      });
      this.drainWaiter = null;
      if (!done) {
        const fail = (inFlight: boolean) => (command: string): PoolDrainingError => new PoolDrainingError({ pool: this.name, command, state: "draining", inFlight });
        for (const w of this.queue.takeAll()) {
          failed++;
          w.fail(fail(false)(w.command));
        }
        // These were already with a worker: they may have run, and must say so.
        for (const slot of this.supervisor.slots) failed += slot.worker.failPending(fail(true));
        this.queueChanged();
      }
    }
    const rejected = this.counts.rejected - rejectedBefore;
    const report = { completed: Math.max(0, pending - failed), failed, rejected, durationMs: performance.now() - t0 };
    this.emit({ type: "pool.drained", pool: this.name, at: Date.now(), completed: report.completed, failed, rejected });
    return report;
  }

  private startHousekeeping(): void {
    const opt = this.o.optimizer;
    const overflowTick = this.o.maxOverflow > 0 ? Math.max(10, Math.min(this.o.overflowAfterMs, this.o.overflowIdleMs) / 4) : Infinity;
    const period = Math.min(opt.enabled ? opt.intervalMs : Infinity, overflowTick);
    if (this.strategy === "basic" || period === Infinity) return;
    this.supervisor.fork(Effect.repeat(Effect.sync(() => this.housekeep()), Schedule.spaced(period)));
  }

  private housekeep(): void {
    if (!this.accepting) return;
    const now = performance.now();
    this.track(now, 0);
    const slots = this.supervisor.slots;
    const capacity = Math.max(1, slots.length * this.o.capacity) * (now - this.judgedAt);
    const utilisation = capacity > 0 ? this.busyArea / capacity : 0;
    this.busyArea = 0;
    this.judgedAt = now;
    const idle = slots.filter((s) => s.overflow && s.inFlight === 0 && now - s.idleSince >= this.o.overflowIdleMs);
    const decision = decideScale(
      {
        now,
        utilisation,
        queueDepth: this.queue.size,
        queuedSince: this.queuedSince,
        size: this.supervisor.target,
        overflow: this.supervisor.overflowWanted,
        idleOverflow: idle.length,
        lastChangeAt: this.scaledAt,
      },
      { optimizer: this.o.optimizer.enabled && this.optimizerOn, minSize: this.o.minSize, maxSize: this.o.maxSize, ...this.o.optimizer, maxOverflow: this.o.maxOverflow, overflowAfterMs: this.o.overflowAfterMs },
    );
    if (decision.action === "hold") return;
    const from = this.supervisor.target + this.supervisor.overflowWanted;
    const at = Date.now();
    if (decision.action === "overflow") {
      this.supervisor.overflowWanted++;
      this.queuedSince = now;
      this.supervisor.ensure();
      this.emit({ type: "pool.scaled", pool: this.name, at, from, to: from + 1, reason: "overflow" });
    } else if (decision.action === "retireOverflow") {
      this.supervisor.retire(idle[0]!, "overflow_idle");
      this.emit({ type: "pool.scaled", pool: this.name, at, from, to: from - 1, reason: "overflow_idle" });
    } else if (decision.action === "grow" || decision.action === "shrink") {
      this.scaledAt = now;
      this.supervisor.target = decision.to;
      this.breakers?.judge();
      if (decision.action === "grow") {
        this.supervisor.ensure();
      } else {
        const victim = slots.filter((s) => !s.overflow).sort((a, b) => a.inFlight - b.inFlight)[0];
        if (victim !== undefined) this.supervisor.retire(victim, "scaled_down");
      }
      const reason = decision.action === "grow" ? "utilisation_high" : "utilisation_low";
      this.emit({ type: "pool.scaled", pool: this.name, at, from, to: decision.to + this.supervisor.overflowWanted, reason });
    }
    this.syncMachine();
  }
}
