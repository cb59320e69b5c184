/**
 * The bridge between a pool and its cockatiel circuit breaker: which errors
 * count, how a refusal surfaces (BreakerOpenError), and the feed of every
 * state change into machines/breaker.ts.
 *
 * @module
 */
import {
  BrokenCircuitError,
  circuitBreaker,
  type CircuitBreakerPolicy,
  CircuitState,
  ConsecutiveBreaker,
  handleWhen,
  SamplingBreaker,
  IsolatedCircuitError,
} from "cockatiel";
import { createActor } from "xstate";
import { type BreakerEvent, breakerMachine, type BreakerState } from "../../machines/breaker.ts";
import { BreakerOpenError } from "../errors.ts";
import { classifyError } from "./classify.ts";

/** Which failures open the breaker. */
export type BreakOn = "infrastructure" | "any-error";

/** The breaker's settings, resolved. */
export interface BreakerSettings {
  /** Open after this many counted failures in a row; null: judge the failure rate instead. */
  readonly consecutiveFailures: number | null;
  /** Failure rate (0–1) over `samplingMs` that opens the breaker. */
  readonly threshold: number;
  readonly samplingMs: number;
  /** Calls per second below which the rate is not judged. */
  readonly minimumRps: number;
  readonly halfOpenAfterMs: number;
  readonly breakOn: BreakOn;
  /** A state saved from `toJSON()`, to start from. */
  readonly initialState: unknown;
}

/** Where the breaker's state changes go: the breaker machine, in memory or persisted. */
export interface BreakerRecord {
  /** The machine's state when the breaker starts (a persisted one may already be open). */
  readonly state: BreakerState;
  record(event: BreakerEvent): void;
  stop(): Promise<void>;
}

/** A breaker machine held in memory only. */
export function memoryRecord(breakerId: string): BreakerRecord {
  const actor = createActor(breakerMachine, { input: { breakerId } }).start();
  return {
    state: "closed",
    record: (event) => actor.send(event),
    stop: () => Promise.resolve(actor.stop()).then(() => {}),
  };
}

/**
 * The cockatiel state stored in a breaker machine's context, if a breaker
 * can start from it. An isolation is an operator's hold and is not carried
 * across a restart.
 */
export function restorableState(saved: unknown): unknown {
  const own = (saved as { ownState?: { value?: unknown } } | null)?.ownState;
  if (own === undefined || own.value === CircuitState.Isolated) return undefined;
  return saved;
}

const NAMES: Readonly<Record<CircuitState, BreakerState>> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "halfOpen",
  [CircuitState.Isolated]: "isolated",
};

/**
 * A circuit breaker over cockatiel, one per worker position of a pool (see
 * src/pool/breakers.ts). Infrastructure failures (crash, timeout, broken
 * stream) always count; Python errors count with `breakOn: "any-error"`.
 * A half-open probe closes the breaker only if it succeeds: any error
 * answer re-opens it, since an error must never pass for a success.
 */
export class PoolBreaker {
  private readonly policy: CircuitBreakerPolicy;
  private readonly counter: ConsecutiveBreaker | SamplingBreaker;
  private readonly counts: (error: unknown) => boolean;
  /** The state last fed to the record. */
  private last: BreakerState;
  private readonly halfOpenAfterMs: number;
  /** When cockatiel last opened it (its own clock, Date.now, or later by a hair): when its probe is due. */
  private openedAt = 0;

  constructor(
    private readonly pool: string,
    settings: BreakerSettings,
    onChange: (from: BreakerState, to: BreakerState) => void,
    private readonly machine: BreakerRecord = memoryRecord(pool),
  ) {
    this.halfOpenAfterMs = settings.halfOpenAfterMs;
    this.counts = (error: unknown): boolean => {
      const k = classifyError(error);
      if (k.infrastructure) return true;
      if (k.category !== "python" && k.category !== "resource") return false;
      return settings.breakOn === "any-error" || this.policy.state === CircuitState.HalfOpen;
    };
    this.counter = settings.consecutiveFailures === null
      ? new SamplingBreaker({ threshold: settings.threshold, duration: settings.samplingMs, minimumRps: settings.minimumRps })
      : new ConsecutiveBreaker(settings.consecutiveFailures);
    this.policy = circuitBreaker(handleWhen(this.counts), {
      halfOpenAfter: settings.halfOpenAfterMs,
      breaker: this.counter,
      initialState: settings.initialState ?? undefined,
    });
    this.last = machine.state;
    if (this.state !== this.last) this.feed(this.state);
    if (this.policy.state === CircuitState.Open) this.openedAt = (this.policy.toJSON() as { ownState: { openedAt: number } }).ownState.openedAt;
    this.policy.onStateChange((state) => {
      if (state === CircuitState.Open) this.openedAt = Date.now();
      const from = this.last;
      this.feed(NAMES[state]);
      onChange(from, NAMES[state]);
    });
  }

  /** The breaker's state. */
  get state(): BreakerState {
    return NAMES[this.policy.state];
  }

  /** True while closed: the caller may run a call itself and report with `succeeded` / `failed`. */
  get closed(): boolean {
    return this.policy.state === CircuitState.Closed;
  }

  /**
   * Whether a call may be sent through it now: closed, or open long enough
   * that cockatiel lets the next call through as its probe. Not while a
   * probe is out (half-open), nor while isolated.
   */
  admits(): boolean {
    const state = this.policy.state;
    if (state === CircuitState.Closed) return true;
    return state === CircuitState.Open && Date.now() >= this.openedAt + this.halfOpenAfterMs;
  }

  /** When an open breaker lets its probe through (ms since the epoch); 0 when not open. */
  probeAt(): number {
    return this.policy.state === CircuitState.Open ? this.openedAt + this.halfOpenAfterMs : 0;
  }

  /** Report a success of a call run while closed (what cockatiel's own closed path records). */
  succeeded(): void {
    this.counter.success(CircuitState.Closed);
  }

  /** Report a failure of a call run while closed; rejects with the error to give the caller. */
  failed(error: unknown): Promise<never> {
    if (!this.counts(error)) return Promise.reject(error);
    // cockatiel records the failure and opens the circuit when its breaker says so;
    // the caller gets the call's own error either way.
    return this.policy.execute(() => Promise.reject(error)).then(
      () => Promise.reject(error),
      () => Promise.reject(error),
    );
  }

  /** Run `fn` under the breaker; refused at once with BreakerOpenError while open. */
  execute<T>(command: string, fn: () => Promise<T>): Promise<T> {
    return this.policy.execute(fn).catch((e) => this.refusal(e, command));
  }

  private refusal(e: unknown, command: string): never {
    // IsolatedCircuitError extends BrokenCircuitError: test it first.
    if (e instanceof IsolatedCircuitError) throw new BreakerOpenError({ pool: this.pool, command, state: "isolated" });
    if (e instanceof BrokenCircuitError) throw new BreakerOpenError({ pool: this.pool, command, state: "open" });
    throw e;
  }

  /** Hold the breaker open until the returned handle is disposed. */
  isolate(): { dispose(): void } {
    return this.policy.isolate();
  }

  /** The cockatiel state, to hand back as `initialState` after a restart. */
  toJSON(): unknown {
    return this.policy.toJSON();
  }

  /** Stop the breaker machine (writing its final snapshot when persisted). */
  stop(): Promise<void> {
    return this.machine.stop();
  }

  private feed(to: BreakerState): void {
    const change = { now: Date.now(), saved: this.policy.toJSON() };
    const from = this.last;
    this.last = to;
    if (to === "open") this.machine.record({ type: "breaker.opened", ...change });
    else if (to === "halfOpen") this.machine.record({ type: "breaker.halfOpened", ...change });
    else if (to === "isolated") this.machine.record({ type: "breaker.isolated", ...change });
    else this.machine.record({ type: from === "isolated" ? "breaker.released" : "breaker.closed", ...change });
  }
}
