/**
 * The pool's workers: starting them (concurrently, or one after another for
 * the basic strategy), restarting failed starts on an Effect `Schedule`
 * backoff, watching each for crashes and degradation, sampling RSS, and
 * retiring one gracefully. Every worker lives in its own scope, a child of
 * the pool's root scope, so closing the root leaves no process and no fiber.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Schedule from "effect/Schedule";
import * as Scope from "effect/Scope";
import type { WorkerState } from "../../machines/worker.ts";
import type { RecycleReason } from "../telemetry/events.ts";
import { acquirePythonWorker } from "../worker/spawn-worker.ts";
import type { PythonWorker } from "../worker/python-worker.ts";
import type { ResolvedPoolOptions } from "./options.ts";
import type { WorkerStderr } from "./types.ts";

/** Exited workers whose stderr the pool keeps (a pool that crash-loops must not keep them all). */
const ENDED_KEPT = 16;

/** One worker as the pool sees it. */
export interface Slot {
  readonly id: string;
  readonly worker: PythonWorker;
  /** Started above the target size because the queue stayed non-empty. */
  readonly overflow: boolean;
  /** How long its start took (ms). */
  readonly startMs: number;
  /** Started to take the place of a worker that crashed or was recycled. */
  readonly replacing: boolean;
  inFlight: number;
  /** Calls dispatched to it. */
  served: number;
  /** Consecutive infrastructure failures. */
  failures: number;
  /** When its last call settled (performance.now()). */
  idleSince: number;
  rssBytes: number | null;
  /** When `rssBytes` was sampled (ms since the epoch). */
  rssSampledAt: number | null;
  /** True once it has left the dispatch set. */
  gone: boolean;
  /** Its place in the pool (the pool assigns it on adoption): a replacement takes its predecessor's, and its breaker. */
  position: number;
  /** Lost (exited, stream broken): the one failure its breaker has counted for it. */
  lost: boolean;
}

/** Why a slot left the pool. */
export type RemovalCause = "crashed" | RecycleReason;

/** What the supervisor tells the pool. */
export interface SupervisorHooks {
  adopted(slot: Slot): void;
  removed(slot: Slot, cause: RemovalCause): void;
  startFailed(workerId: string, error: unknown, attempt: number): void;
  /** Whether a failed start may be retried (not while the pool is still starting). */
  mayRetry(): boolean;
  gaveUp(error: unknown): void;
  exited(slot: Slot, exitCode: number | null, signal: string | null): void;
  sampled(slot: Slot): void;
  /** A ready worker can take calls again (its cancelled calls ended). */
  available(slot: Slot): void;
}

/** Starts, watches, replaces and retires the workers of one pool. */
export class Supervisor {
  readonly slots: Slot[] = [];
  /** Workers the pool keeps (not counting overflow). */
  target: number;
  /** Overflow workers wanted. */
  overflowWanted = 0;
  private starting = 0;
  /** Workers lost and not yet replaced: the next starts are replacements. */
  private owed = 0;
  private startingOverflow = 0;
  private closing = false;
  private counter = 0;
  private readonly root = Scope.makeUnsafe("parallel");
  private readonly scopes = new Map<Slot, Scope.Closeable>();
  /** The stderr of the last workers that exited, oldest first. */
  readonly ended: WorkerStderr[] = [];
  /** Stops of retired workers still under way; close() waits for them. */
  private readonly stopping = new Set<Promise<void>>();
  private readonly backoff: Schedule.Schedule<unknown, unknown>;

  constructor(private readonly options: ResolvedPoolOptions, private readonly hooks: SupervisorHooks) {
    this.target = options.size;
    this.backoff = Schedule.min([Schedule.exponential(options.restartInitialMs), Schedule.spaced(options.restartMaxMs)]).pipe(
      Schedule.jittered,
    ) as Schedule.Schedule<unknown, unknown>;
  }

  /** Workers starting right now. */
  get pending(): number {
    return this.starting + this.startingOverflow;
  }

  /** Start workers until the target (and wanted overflow) is reached or under way. */
  ensure(): void {
    if (this.closing) return;
    const sequential = this.options.strategy === "basic";
    let base = this.starting;
    let overflow = this.startingOverflow;
    for (const slot of this.slots) slot.overflow ? overflow++ : base++;
    while (base < this.target && !(sequential && this.starting > 0)) {
      this.start(false);
      base++;
    }
    while (overflow < this.overflowWanted) {
      this.start(true);
      overflow++;
    }
  }

  /** Take a slot out of service and stop its worker gracefully (it drains first). */
  retire(slot: Slot, reason: RecycleReason): void {
    if (!this.detach(slot, reason !== "scaled_down" && reason !== "overflow_idle")) return;
    if (slot.overflow) this.overflowWanted = Math.max(0, this.overflowWanted - 1);
    this.hooks.removed(slot, reason);
    this.ensure();
  }

  /** Run a background loop in the pool's root scope; it ends when the pool stops. */
  fork(effect: Effect.Effect<unknown>): void {
    if (!this.closing) Effect.runFork(Effect.forkIn(effect, this.root));
  }

  /** Stop every worker and fiber; resolves once every process has exited. */
  async close(): Promise<void> {
    this.closing = true;
    await Effect.runPromise(Scope.close(this.root, Exit.void));
    await Promise.all(this.stopping);
  }

  private start(overflow: boolean): void {
    if (overflow) this.startingOverflow++;
    else this.starting++;
    const replacing = !overflow && this.owed > 0;
    if (replacing) this.owed--;
    let attempt = 0;
    const once = Effect.suspend(() => {
      attempt++;
      const scope = Scope.forkUnsafe(this.root, "sequential");
      const id = `${this.options.name}-${++this.counter}`;
      const t0 = performance.now();
      return Scope.provide(acquirePythonWorker({ ...this.options.worker, id }), scope).pipe(
        Effect.map((worker) => ({ worker, scope, startMs: performance.now() - t0 })),
        Effect.tapError((error) =>
          Scope.close(scope, Exit.void).pipe(Effect.andThen(Effect.sync(() => this.hooks.startFailed(id, error, attempt))))
        ),
      );
    });
    this.fork(
      once.pipe(
        Effect.retry({ schedule: this.backoff, while: () => !this.closing && this.hooks.mayRetry() }),
        Effect.match({
          onSuccess: ({ worker, scope, startMs }) => {
            this.started(overflow);
            this.adopt(worker, scope, overflow, startMs, replacing);
          },
          onFailure: (error) => {
            this.started(overflow);
            if (!this.closing) this.hooks.gaveUp(error);
          },
        }),
      ),
    );
  }

  private started(overflow: boolean): void {
    if (overflow) this.startingOverflow--;
    else this.starting--;
  }

  private adopt(worker: PythonWorker, scope: Scope.Closeable, overflow: boolean, startMs: number, replacing: boolean): void {
    if (this.closing) return;
    const slot: Slot = { id: worker.id, worker, overflow, startMs, replacing, inFlight: 0, served: 0, failures: 0, idleSince: performance.now(), rssBytes: null, rssSampledAt: null, gone: false, position: -1, lost: false };
    this.scopes.set(slot, scope);
    this.slots.push(slot);
    worker.watch((state) => this.onState(slot, state));
    void worker.exited.then((info) => {
      this.ended.push({ workerId: worker.id, pid: worker.pid, exited: true, exitCode: info.exitCode, signal: info.signal, lines: worker.stderrTail() });
      if (this.ended.length > ENDED_KEPT) this.ended.shift();
      this.hooks.exited(slot, info.exitCode, info.signal);
    });
    if (this.options.sampleEveryMs > 0) {
      const sample = Effect.tryPromise(() => worker.health()).pipe(
        Effect.tap((h) => Effect.sync(() => {
          slot.rssBytes = h.rssBytes;
          slot.rssSampledAt = Date.now();
          this.hooks.sampled(slot);
        })),
        Effect.ignore,
      );
      Effect.runFork(Effect.forkIn(Effect.forever(Effect.andThen(Effect.sleep(this.options.sampleEveryMs), sample)), scope));
    }
    this.hooks.adopted(slot);
    this.ensure();
  }

  private onState(slot: Slot, state: WorkerState): void {
    if (slot.gone || this.closing) return;
    if (state === "degraded") {
      this.retire(slot, slot.worker.stats().recycle === "deadline_overrun" ? "deadline_overrun" : "heartbeat");
    } else if (state === "crashed") {
      this.detach(slot, true);
      if (slot.overflow) this.overflowWanted = Math.max(0, this.overflowWanted - 1);
      this.hooks.removed(slot, "crashed");
      this.ensure();
    } else if (state === "ready") {
      this.hooks.available(slot);
    }
  }

  private detach(slot: Slot, replace: boolean): boolean {
    if (slot.gone) return false;
    slot.gone = true;
    if (replace && !slot.overflow) this.owed++;

    this.slots.splice(this.slots.indexOf(slot), 1);
    const scope = this.scopes.get(slot);
    this.scopes.delete(slot);
    if (scope !== undefined) {
      const stop = Effect.runPromise(Scope.close(scope, Exit.void));
      this.stopping.add(stop);
      void stop.finally(() => this.stopping.delete(stop));
    }
    return true;
  }
}
