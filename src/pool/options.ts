/**
 * The options of a pool, their defaults per strategy, and their validation.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import {
  boolean,
  nonEmptyString,
  nonNegativeDuration,
  nonNegativeInt,
  option,
  positiveDuration,
  positiveInt,
  refuseUnknown,
  type Rule,
} from "../config.ts";
import type { BreakOn, BreakerSettings } from "../resilience/breaker.ts";
import { type Flags, flagsRule } from "../flags/flags.ts";
import { type Store, storeRule } from "../store/store.ts";
import type { EventBus } from "../telemetry/events.ts";
import { resolveWorkerOptions, type WorkerOptions } from "../worker/options.ts";

/** "basic": the V1 baseline. "enhanced": the V2 pool. */
export type Strategy = "basic" | "enhanced";

/** How calls with a `sessionId` choose their worker. */
export type Affinity = "none" | "hint" | "strict";

/** Circuit breaker settings of an enhanced pool. */
export interface BreakerOptions {
  /**
   * Failure rate (0–1) of counted failures over `samplingMs` that opens the
   * breaker. Default 0.5. A rate, not a count: one crash fails every call
   * pipelined into that worker at once, and should not open it alone.
   */
  readonly threshold?: number;
  /** Window the rate is judged over. Default 10000 ms. */
  readonly samplingMs?: number;
  /** Calls per second below which the rate is not judged. Default 5. */
  readonly minimumRps?: number;
  /** Open after this many counted failures in a row instead of judging a rate. Default: unset. */
  readonly consecutiveFailures?: number;
  /** Time open before one probe call is let through. Default 10000 ms. */
  readonly halfOpenAfterMs?: number;
  /** Which failures count. Default `"infrastructure"` (crash, timeout, broken stream). */
  readonly breakOn?: BreakOn;
  /** A state saved from `pool.breakerState()`, to start from. Default: closed. */
  readonly initialState?: unknown;
}

/** Retry settings of an enhanced pool. */
export interface RetryOptions {
  /** Retries after the first attempt. Default 2; 0 turns retry off. */
  readonly attempts?: number;
  /** First backoff delay (exponential, with jitter). Default 10 ms. */
  readonly initialDelayMs?: number;
  /** Longest backoff delay. Default 1000 ms. */
  readonly maxDelayMs?: number;
}

/** Optimizer settings: grow when busy with a queue, shrink when idle. */
export interface OptimizerOptions {
  /** Default false. With `flags`, it runs only while the `pool_optimizer` flag is on too. */
  readonly enabled?: boolean;
  /** How often utilisation is judged. Default 5000 ms. */
  readonly intervalMs?: number;
  /** Grow by one worker above this utilisation while calls queue. Default 0.9. */
  readonly growAbove?: number;
  /** Shrink by one worker below this utilisation. Default 0.3. */
  readonly shrinkBelow?: number;
  /** Time after a change before the next one. Default 30000 ms. */
  readonly cooldownMs?: number;
}

/**
 * Options of {@link createPool}. `name` and `handler` are required; every
 * worker option (`python`, `threads`, `env`, `cwd`, `heartbeatMs`, …) is
 * accepted too and applies to each worker.
 */
export interface PoolOptions extends Omit<WorkerOptions, "id"> {
  /** The pool's name, used in errors, events and metrics. Required. */
  readonly name: string;
  /** Default `"enhanced"`. */
  readonly strategy?: Strategy;
  /** Workers to keep. Default 2. */
  readonly size?: number;
  /** Enhanced: workers ready before the pool serves. Default 1 (basic: `size`). */
  readonly minReady?: number;
  /** Enhanced: calls in flight per worker. Default 32 (basic: 1, fixed). */
  readonly capacity?: number;
  /** Default `"hint"` (basic: `"none"`, fixed). */
  readonly affinity?: Affinity;
  /** Calls allowed to wait for a worker. Default 1000 (basic: unbounded). */
  readonly maxQueue?: number;
  /** Longest wait for a worker. Default 5000 ms. */
  readonly queueTimeoutMs?: number;
  /** Enhanced: lowest size the optimizer shrinks to. Default `size`. */
  readonly minSize?: number;
  /** Enhanced: highest size the optimizer grows to. Default `size`. */
  readonly maxSize?: number;
  /** Enhanced: extra workers started while the queue stays non-empty. Default 0. */
  readonly maxOverflow?: number;
  /** Enhanced: how long the queue must stay non-empty before an overflow worker starts. Default 1000 ms. */
  readonly overflowAfterMs?: number;
  /** Enhanced: idle time after which an overflow worker is stopped. Default 10000 ms. */
  readonly overflowIdleMs?: number;
  /** Enhanced: replace a worker after this many calls; 0 = never. Default 0. */
  readonly maxRequestsPerWorker?: number;
  /** Enhanced: replace a worker whose RSS exceeds this; 0 = never. Default 0. */
  readonly maxRssBytes?: number;
  /** Enhanced: how often each worker's RSS is sampled; 0 = never. Default 10000 ms. */
  readonly sampleEveryMs?: number;
  /** Enhanced: consecutive infrastructure failures that replace a worker. Default 3. */
  readonly maxConsecutiveFailures?: number;
  /** First delay before restarting a worker that failed to start (exponential, jittered). Default 100 ms. */
  readonly restartInitialMs?: number;
  /** Longest restart delay. Default 5000 ms. */
  readonly restartMaxMs?: number;
  /** Enhanced: the circuit breaker, or false. Default `{}` (on, with its defaults). */
  readonly breaker?: BreakerOptions | false;
  /** Enhanced: retry of safe calls, or false. Default `{}` (on, with its defaults). */
  readonly retry?: RetryOptions | false;
  /** Enhanced: the optimizer. Default off. */
  readonly optimizer?: OptimizerOptions;
  /** Length of the rolling metric window. Default 60000 ms. */
  readonly windowMs?: number;
  /** Slices the window is cut into. Default 6. */
  readonly windowSlices?: number;
  /** The bus events go to. Default: a new bus, `pool.events`. */
  readonly events?: EventBus;
  /**
   * Enhanced: the store the breaker machine is persisted in (actor
   * `breaker:<name>`), so a restarted pool's breaker starts from where it
   * was. An explicit `breaker.initialState` wins. Default: none (in memory).
   */
  readonly store?: Store;
  /**
   * Enhanced: flags whose kill switches this pool obeys, live —
   * `circuit_breaker` off bypasses its breaker, `pool_optimizer` off stops
   * its optimizer. Default: none (both always on as configured).
   */
  readonly flags?: Flags;
}

/** Options after defaults. */
export interface ResolvedPoolOptions {
  readonly name: string;
  readonly strategy: Strategy;
  readonly size: number;
  readonly minReady: number;
  readonly capacity: number;
  readonly affinity: Affinity;
  readonly maxQueue: number;
  readonly queueTimeoutMs: number;
  readonly minSize: number;
  readonly maxSize: number;
  readonly maxOverflow: number;
  readonly overflowAfterMs: number;
  readonly overflowIdleMs: number;
  readonly maxRequestsPerWorker: number;
  readonly maxRssBytes: number;
  readonly sampleEveryMs: number;
  readonly maxConsecutiveFailures: number;
  readonly restartInitialMs: number;
  readonly restartMaxMs: number;
  readonly breaker: BreakerSettings | null;
  readonly retry: Required<RetryOptions> | null;
  readonly optimizer: Required<OptimizerOptions>;
  readonly windowMs: number;
  readonly windowSlices: number;
  readonly events: EventBus | undefined;
  readonly store: Store | undefined;
  readonly flags: Flags | undefined;
  /** What each worker is started with (the pool adds `id`). */
  readonly worker: Omit<WorkerOptions, "id">;
}

/** The worker options inside a pool's options (what each of its workers is started with). */
export function workerOptionsOf(options: PoolOptions): Omit<WorkerOptions, "id"> {
  const given = options as unknown as Record<string, unknown>;
  const worker: Record<string, unknown> = {};
  for (const key of WORKER_KEYS) if (given[key] !== undefined) worker[key] = given[key];
  return worker as Omit<WorkerOptions, "id">;
}

const POOL_KEYS = [
  "name", "strategy", "size", "minReady", "capacity", "affinity", "maxQueue", "queueTimeoutMs", "minSize", "maxSize",
  "maxOverflow", "overflowAfterMs", "overflowIdleMs", "maxRequestsPerWorker", "maxRssBytes", "sampleEveryMs",
  "maxConsecutiveFailures", "restartInitialMs", "restartMaxMs", "breaker", "retry", "optimizer", "windowMs",
  "windowSlices", "events", "store", "flags",
] as const;
const WORKER_KEYS = [
  "handler", "python", "threads", "concurrency", "cancelGraceMs", "env", "cwd", "startTimeoutMs", "callTimeoutMs", "heartbeatMs", "heartbeatTimeoutMs",
  "unhealthyAfterMisses", "recycleOnOverrun", "drainTimeoutMs", "shutdownGraceMs", "killGraceMs", "maxFrameBytes",
  "sharedMemoryBytes", "stderrTailLines", "onStderr",
] as const;

const oneOf = <T extends string>(values: readonly T[]): Rule<T> => ({
  is: (v): v is T => values.includes(v as T),
  allowed: `one of ${values.map((v) => JSON.stringify(v)).join(", ")}`,
});
const fraction: Rule<number> = { is: (v): v is number => typeof v === "number" && v > 0 && v < 1, allowed: "a number between 0 and 1 (exclusive)" };
const positiveNumber: Rule<number> = { is: (v): v is number => typeof v === "number" && v > 0 && v < Infinity, allowed: "a positive number" };
const plainObject: Rule<Record<string, unknown>> = {
  is: (v): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v),
  allowed: "an object",
};
const objectOrFalse: Rule<Record<string, unknown> | false> = {
  is: (v): v is Record<string, unknown> | false => v === false || plainObject.is(v),
  allowed: "an object or false",
};
const bus: Rule<EventBus> = {
  is: (v): v is EventBus => typeof (v as EventBus | null)?.emit === "function" && typeof (v as EventBus).subscribe === "function",
  allowed: "an EventBus",
};

/** A sub-object's fields, each validated under `owner: parent.field`. */
function section(owner: string, parent: string, given: Record<string, unknown>, known: readonly string[]) {
  refuseUnknown(`${owner}: ${parent}`, given, known);
  return <A, F = A>(name: string, rule: Rule<A>, fallback: F): A | F => option(owner, `${parent}.${name}`, given[name], rule, fallback);
}

/** Apply defaults and validate; throws a ConfigError naming the first bad option. */
export function resolvePoolOptions(options: PoolOptions): ResolvedPoolOptions {
  if (typeof options !== "object" || options === null) {
    throw new ConfigError({ owner: "pool", option: "options", received: options, allowed: "an object with at least { name, handler }" });
  }
  const given = options as unknown as Record<string, unknown>;
  if (given.name === undefined) throw new ConfigError({ owner: "pool", option: "name", received: undefined, allowed: "a non-empty string" });
  const name = option("pool", "name", given.name, nonEmptyString, "");
  const owner = `pool "${name}"`;
  refuseUnknown(owner, options, [...POOL_KEYS, ...WORKER_KEYS]);
  const get = <A, F = A>(key: (typeof POOL_KEYS)[number], rule: Rule<A>, fallback: F): A | F => option(owner, key, given[key], rule, fallback);
  const strategy = get("strategy", oneOf<Strategy>(["basic", "enhanced"]), "enhanced");
  const basic = strategy === "basic";
  const onlyEnhanced = (key: (typeof POOL_KEYS)[number], fixed: unknown): void => {
    if (basic && given[key] !== undefined && given[key] !== fixed) {
      throw new ConfigError({ owner, option: key, received: given[key], allowed: `left out with strategy "basic" (the V1 baseline has none)` });
    }
  };
  for (const key of ["minReady", "minSize", "maxSize", "maxOverflow", "maxRequestsPerWorker", "maxRssBytes", "optimizer", "store", "flags"] as const) onlyEnhanced(key, undefined);
  onlyEnhanced("capacity", 1);
  onlyEnhanced("affinity", "none");
  onlyEnhanced("breaker", false);
  onlyEnhanced("retry", false);

  const size = get("size", positiveInt, 2);
  const minReady = get("minReady", positiveInt, basic ? size : 1);
  if (minReady > size) throw new ConfigError({ owner, option: "minReady", received: minReady, allowed: `at most size (${size})` });
  const minSize = get("minSize", positiveInt, size);
  const maxSize = get("maxSize", positiveInt, size);
  if (minSize > size) throw new ConfigError({ owner, option: "minSize", received: minSize, allowed: `at most size (${size})` });
  if (maxSize < size) throw new ConfigError({ owner, option: "maxSize", received: maxSize, allowed: `at least size (${size})` });

  const breakerGiven: Record<string, unknown> | false = get("breaker", objectOrFalse, basic ? false : {});
  let breaker: BreakerSettings | null = null;
  if (breakerGiven !== false) {
    const b = section(owner, "breaker", breakerGiven, ["threshold", "samplingMs", "minimumRps", "consecutiveFailures", "halfOpenAfterMs", "breakOn", "initialState"]);
    breaker = {
      threshold: b("threshold", fraction, 0.5),
      samplingMs: b("samplingMs", positiveDuration, 10_000),
      minimumRps: b("minimumRps", positiveNumber, 5),
      consecutiveFailures: b("consecutiveFailures", positiveInt, null),
      halfOpenAfterMs: b("halfOpenAfterMs", positiveDuration, 10_000),
      breakOn: b("breakOn", oneOf<BreakOn>(["infrastructure", "any-error"]), "infrastructure"),
      initialState: breakerGiven.initialState,
    };
  }
  const retryGiven: Record<string, unknown> | false = get("retry", objectOrFalse, basic ? false : {});
  let retry: Required<RetryOptions> | null = null;
  if (retryGiven !== false) {
    const r = section(owner, "retry", retryGiven, ["attempts", "initialDelayMs", "maxDelayMs"]);
    retry = { attempts: r("attempts", nonNegativeInt, 2), initialDelayMs: r("initialDelayMs", positiveDuration, 10), maxDelayMs: r("maxDelayMs", positiveDuration, 1000) };
  }
  const o = section(owner, "optimizer", get("optimizer", plainObject, {}), ["enabled", "intervalMs", "growAbove", "shrinkBelow", "cooldownMs"]);
  const optimizer = {
    enabled: o("enabled", boolean, false),
    intervalMs: o("intervalMs", positiveDuration, 5000),
    growAbove: o("growAbove", fraction, 0.9),
    shrinkBelow: o("shrinkBelow", fraction, 0.3),
    cooldownMs: o("cooldownMs", nonNegativeDuration, 30_000),
  };
  if (optimizer.shrinkBelow >= optimizer.growAbove) {
    throw new ConfigError({ owner, option: "optimizer.shrinkBelow", received: optimizer.shrinkBelow, allowed: `below optimizer.growAbove (${optimizer.growAbove})` });
  }

  const worker = workerOptionsOf(options);
  if (worker.handler === undefined) throw new ConfigError({ owner, option: "handler", received: undefined, allowed: "a .py file path or a module name" });
  // As the first worker would be started: a bad worker option fails here, before anything starts.
  resolveWorkerOptions({ ...worker, id: `${name}-0` });

  return {
    name,
    strategy,
    size,
    minReady,
    capacity: get("capacity", positiveInt, basic ? 1 : 32),
    affinity: get("affinity", oneOf<Affinity>(["none", "hint", "strict"]), basic ? "none" : "hint"),
    maxQueue: get("maxQueue", positiveInt, basic ? Number.MAX_SAFE_INTEGER : 1000),
    queueTimeoutMs: get("queueTimeoutMs", positiveDuration, 5000),
    minSize,
    maxSize,
    maxOverflow: get("maxOverflow", nonNegativeInt, 0),
    overflowAfterMs: get("overflowAfterMs", nonNegativeDuration, 1000),
    overflowIdleMs: get("overflowIdleMs", positiveDuration, 10_000),
    maxRequestsPerWorker: get("maxRequestsPerWorker", nonNegativeInt, 0),
    maxRssBytes: get("maxRssBytes", nonNegativeInt, 0),
    sampleEveryMs: get("sampleEveryMs", nonNegativeDuration, 10_000),
    maxConsecutiveFailures: get("maxConsecutiveFailures", positiveInt, 3),
    restartInitialMs: get("restartInitialMs", positiveDuration, 100),
    restartMaxMs: get("restartMaxMs", positiveDuration, 5000),
    breaker,
    retry,
    optimizer,
    windowMs: get("windowMs", positiveDuration, 60_000),
    windowSlices: get("windowSlices", positiveInt, 6),
    events: get("events", bus, undefined),
    store: get("store", storeRule, undefined),
    flags: get("flags", flagsRule, undefined),
    worker,
  };
}
