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
import { type Actor, createActor } from "xstate";
import { breakerMachine, type BreakerState } from "../../machines/breaker.ts";
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

const NAMES: Readonly<Record<CircuitState, BreakerState>> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "halfOpen",
  [CircuitState.Isolated]: "isolated",
};

/**
 * A pool's circuit breaker. Infrastructure failures (crash, timeout, broken
 * stream) always count; Python errors count with `breakOn: "any-error"`.
 * A half-open probe closes the breaker only if it succeeds: any error
 * answer re-opens it, since an error must never pass for a success.
 */
export class PoolBreaker {
  private readonly policy: CircuitBreakerPolicy;
  private readonly counter: ConsecutiveBreaker | SamplingBreaker;
  private readonly counts: (error: unknown) => boolean;
  private readonly actor: Actor<typeof breakerMachine>;

  constructor(
    private readonly pool: string,
    settings: BreakerSettings,
    onChange: (from: BreakerState, to: BreakerState) => void,
  ) {
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
    this.actor = createActor(breakerMachine, { input: { breakerId: pool } }).start();
    const restored = NAMES[this.policy.state];
    if (restored !== "closed") this.feed(restored);
    this.policy.onStateChange((state) => {
      const from = this.state;
      this.feed(NAMES[state]);
      onChange(from, this.state);
    });
  }

  /** The breaker machine's state. */
  get state(): BreakerState {
    return this.actor.getSnapshot().value as BreakerState;
  }

  /** True while closed: the caller may run a call itself and report with `succeeded` / `failed`. */
  get closed(): boolean {
    return this.policy.state === CircuitState.Closed;
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

  /** Stop the breaker machine. */
  stop(): void {
    this.actor.stop();
  }

  private feed(to: BreakerState): void {
    const now = Date.now();
    const from = this.state;
    if (to === "open") this.actor.send({ type: "breaker.opened", now });
    else if (to === "halfOpen") this.actor.send({ type: "breaker.halfOpened", now });
    else if (to === "isolated") this.actor.send({ type: "breaker.isolated", now });
    else this.actor.send({ type: from === "isolated" ? "breaker.released" : "breaker.closed", now });
  }
}
