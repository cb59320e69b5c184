/**
 * createRouter: the compatibility adapter. One `execute` in front of two
 * pools; each call goes to V1 or V2 by the flags and its sticky key, falls
 * back to V1 when V2 cannot take it, and may be shadowed on the other arm.
 * Programs live in the store and run the same on either arm.
 *
 * @module
 */
import { type ChunkSink, ChunkStream, SINK, type StreamOptions, streamWindow, withStop } from "../worker/chunk-stream.ts";
import { refuseUnknown, refuser } from "../config.ts";
import { ProgramError } from "../errors.ts";
import { classifyError } from "../resilience/classify.ts";
import { murmur3 } from "../flags/bucket.ts";
import type { FlagValues } from "../flags/definitions.ts";
import { type Flags, flagsRule } from "../flags/flags.ts";
import { type ExecuteOptions, type Pool, type PoolHealth, poolRule } from "../pool/types.ts";
import { type Store, storeRule } from "../store/store.ts";
import type { ProgramRecord } from "../store/tables/programs.ts";
import { EventBus } from "../telemetry/events.ts";
import { checkDefinition, type ProgramDefinition, programId } from "./programs.ts";
import { type Arm, RouteDecider, type RouteDecision, type RouteReason } from "./route.ts";
import { resolveRouterNode, RouterNode, type RouterNodeOptions, type RouterNodeSettings } from "./router-node.ts";
import { resolveShadowOptions, Shadow, type ShadowCounts, type ShadowOptions, type ShadowSettings } from "./shadow.ts";

/** Options of createRouter. */
export interface RouterOptions {
  /** The old pool. Required. */
  readonly v1: Pool;
  /** The new pool. Required. */
  readonly v2: Pool;
  /** The flags that decide the V2 share. Required. */
  readonly flags: Flags;
  /** Where programs and shadow mismatches are kept. Required. */
  readonly store: Store;
  /** Where calls bound for a V2 that cannot take them go: `"v1"`, or `"none"` (they fail with V2's error). Default `"v1"`. */
  readonly fallback?: "v1" | "none";
  /** Shadow comparison, or false. Default false. */
  readonly shadow?: ShadowOptions | false;
  /** The bus route and shadow events go to. Default: a new bus, `router.events`. */
  readonly events?: EventBus;
  /** The draw for calls without a sticky key, 0–1. Default `Math.random`. */
  readonly random?: () => number;
  /** Register this process as a node of a rollout's fleet (role "router"), so that `molt status` lists it. Default: not registered. */
  readonly node?: RouterNodeOptions;
  /** The rollout (migration) it serves: shadow mismatches are recorded under it, and its report lists only those. Default: `node.rolloutId`, else none. */
  readonly rolloutId?: string;
}

/** Per-call options: a pool's, plus the request id that is the sticky key when there is no session. */
export interface RouteOptions extends ExecuteOptions {
  readonly requestId?: string;
}

/** Calls per arm and reason since the router started. */
export interface RouterStats {
  readonly v1: number;
  readonly v2: number;
  readonly byReason: Readonly<Record<RouteReason, number>>;
  /** Calls bound for V2 that V1 served. */
  readonly fallbacks: number;
  /** What callers got from each arm (the arm that finally served them; shadow calls are not theirs): calls settled, failed, and failures by the error's `_tag`. */
  readonly callers: Readonly<Record<"v1" | "v2", CallerOutcomes>>;
  readonly shadow: Readonly<Record<string, ShadowCounts>> | null;
}

/** Calls an arm settled for callers, and how many failed, by the error's `_tag`. */
export interface CallerOutcomes {
  readonly calls: number;
  readonly failed: number;
  readonly tags: Readonly<Record<string, number>>;
}

/** What `healthCheck` reports. */
export interface RouterHealth {
  readonly healthy: boolean;
  readonly v1: PoolHealth;
  readonly v2: PoolHealth;
  readonly flags: FlagValues;
  readonly stats: RouterStats;
}

/** The compatibility adapter over two pools. */
export interface Router {
  readonly events: EventBus;
  /** Run a command on the arm this call is routed to. */
  execute<T = unknown>(command: string, args?: unknown, options?: RouteOptions): Promise<T>;
  /**
   * Stream a command's items from the arm this call is routed to (see
   * `Pool.stream`). V1 takes it when V2 refused it before it ran, never once
   * an item was delivered. Streams are not shadowed.
   */
  stream<T = unknown>(command: string, args?: unknown, options?: RouteOptions & StreamOptions): AsyncIterableIterator<T>;
  /** Where a call with these options would go now (without V2's availability). */
  decide(options?: RouteOptions): RouteDecision;
  /** Validate and store a program; `id` defaults to a fresh one. */
  createProgram(definition: ProgramDefinition, options?: { id?: string }): Promise<ProgramRecord>;
  /** Run a stored program on the arm this call is routed to; its definition travels with the call. */
  executeProgram<T = unknown>(id: string, inputs: Readonly<Record<string, unknown>>, options?: RouteOptions): Promise<T>;
  listPrograms(): Promise<ProgramRecord[]>;
  /** Delete a program; resolves false if there was none. */
  deleteProgram(id: string): Promise<boolean>;
  /** Both pools' health, the flags, and the routing counts. */
  healthCheck(): Promise<RouterHealth>;
  stats(): RouterStats;
  /** Wait for shadow calls in flight to be compared and recorded. The pools are the caller's to stop. */
  close(): Promise<void>;
}

const REASONS: readonly RouteReason[] = ["v2_disabled", "outside_share", "inside_share", "v2_unavailable"];

/** Refusals that mean V2 never ran the call, so V1 may take it. */
const refusedUnrun = (e: unknown): boolean => {
  const tag = (e as { _tag?: unknown } | null)?._tag;
  return tag === "BreakerOpenError" || (tag === "PoolDrainingError" && (e as { inFlight: boolean }).inFlight === false);
};

/** Failures of a call V2 had taken that come from V2 going away (a crash, a drain's deadline), not from the call. */
const lostWithV2 = (e: unknown): boolean => {
  const k = classifyError(e);
  return k.infrastructure || (e as { _tag?: unknown } | null)?._tag === "PoolDrainingError";
};

/**
 * Put a router in front of two pools.
 *
 * @example
 * ```ts
 * import { createFlags, createPool, createRouter, openStore } from "molt";
 * const store = await openStore(":memory:");
 * const flags = await createFlags({ store, env: {} });
 * const handler = "./test/fixtures/echo_handler.py";
 * const v1 = await createPool({ name: "v1", strategy: "basic", handler, size: 1, heartbeatMs: 0 });
 * const v2 = await createPool({ name: "v2", handler, size: 1, heartbeatMs: 0 });
 * const router = createRouter({ v1, v2, flags, store });
 * await flags.set("pool_v2_enabled", true);
 * await flags.set("pool_v2_share", 10000);
 * console.log(await router.execute("echo", "hi", { sessionId: "s1" }), router.stats().v2); // hi 1
 * await router.close();
 * await Promise.all([v1.stop(), v2.stop()]);
 * await flags.close();
 * await store.close();
 * ```
 */
export function createRouter(options: RouterOptions): Router {
  refuseUnknown("router", options, ["v1", "v2", "flags", "store", ...ROUTER_SETTINGS]);
  const bad = refuser("router");
  if (!poolRule.is(options.v1)) bad("v1", options.v1, poolRule.allowed);
  if (!poolRule.is(options.v2)) bad("v2", options.v2, poolRule.allowed);
  // The pool itself is no use in the message: its name is.
  if (options.v2 === options.v1) bad("v2", `the same pool as v1 ("${options.v1.name}")`, "a Pool other than v1 (one pool cannot be both arms)");
  if (!flagsRule.is(options.flags)) bad("flags", options.flags, flagsRule.allowed);
  if (!storeRule.is(options.store)) bad("store", options.store, storeRule.allowed);
  return new RouterImpl(options, resolveRouterSettings(options, "router", ""));
}

/** The options of a router besides its pools, flags and store. */
export const ROUTER_SETTINGS = ["fallback", "shadow", "events", "random", "node", "rolloutId"] as const;

/** A router's settings after defaults. */
export interface RouterSettings {
  readonly fallback: boolean;
  readonly shadow: ShadowSettings | null;
  readonly events: EventBus | undefined;
  readonly random: (() => number) | undefined;
  readonly node: RouterNodeSettings | null;
  readonly rolloutId: string | null;
}

/**
 * Validate a router's settings (the {@link ROUTER_SETTINGS} of `given`) and
 * apply defaults; a ConfigError names `prefix` + the option, under `owner`.
 * A migration checks its router's this way before it starts anything.
 */
export function resolveRouterSettings(given: Pick<RouterOptions, (typeof ROUTER_SETTINGS)[number]>, owner: string, prefix: string): RouterSettings {
  const bad = refuser(owner, prefix);
  if (given.fallback !== undefined && given.fallback !== "v1" && given.fallback !== "none") bad("fallback", given.fallback, '"v1" or "none"');
  if (given.events !== undefined && !(given.events instanceof EventBus)) bad("events", given.events, "an EventBus");
  if (given.random !== undefined && typeof given.random !== "function") bad("random", given.random, "a function returning 0–1");
  if (given.rolloutId !== undefined && (typeof given.rolloutId !== "string" || given.rolloutId === "")) bad("rolloutId", given.rolloutId, "a non-empty string");
  const node = given.node === undefined ? null : resolveRouterNode(given.node, owner, prefix);
  return {
    fallback: (given.fallback ?? "v1") === "v1",
    shadow: given.shadow === undefined || given.shadow === false ? null : resolveShadowOptions(given.shadow, owner, `${prefix}shadow.`),
    events: given.events,
    random: given.random,
    node,
    rolloutId: given.rolloutId ?? node?.rolloutId ?? null,
  };
}

class RouterImpl implements Router {
  readonly events: EventBus;
  private readonly pools: Readonly<Record<Arm, Pool>>;
  private readonly decider: RouteDecider;
  private readonly shadow: Shadow | null;
  private readonly fallback: boolean;
  private readonly counts: Record<RouteReason, number> = { v2_disabled: 0, outside_share: 0, inside_share: 0, v2_unavailable: 0 };
  private served = { v1: 0, v2: 0 };
  private readonly callers = { v1: { calls: 0, failed: 0, tags: {} as Record<string, number> }, v2: { calls: 0, failed: 0, tags: {} as Record<string, number> } };
  /** Per arm: pass a result through, or rethrow an error, counting it for callers. */
  private readonly tallies = { v1: tally(this.callers.v1), v2: tally(this.callers.v2) };
  private readonly node: RouterNode | null;

  constructor(private readonly o: RouterOptions, settings: RouterSettings) {
    this.events = settings.events ?? new EventBus();
    this.pools = { v1: o.v1, v2: o.v2 };
    this.decider = new RouteDecider(o.flags, settings.random);
    this.fallback = settings.fallback;
    this.shadow = settings.shadow === null ? null : new Shadow(settings.shadow, o.store, this.events, settings.rolloutId);
    this.node = settings.node === null ? null : new RouterNode(settings.node, o.store, o.flags, [o.v1.name, o.v2.name]);
  }

  decide(options: RouteOptions = {}): RouteDecision {
    return this.decider.decide(options);
  }

  execute<T = unknown>(command: string, args?: unknown, options: RouteOptions = {}): Promise<T> {
    return this.routed(command, args, options, null) as Promise<T>;
  }

  stream<T = unknown>(command: string, args?: unknown, options: RouteOptions & StreamOptions = {}): AsyncIterableIterator<T> {
    const { window, ...rest } = options;
    const size = streamWindow("router", window);
    return new ChunkStream<T>(size, (sink) => this.routed(command, args, { ...rest, signal: withStop(rest.signal, sink), [SINK]: sink } as RouteOptions, sink));
  }

  /** A call routed to its arm (V1 taking it when V2 refused it unrun); a stream's (`sink`) is not shadowed, nor moved once it delivered. */
  private routed(command: string, args: unknown, options: RouteOptions, sink: ChunkSink | null): Promise<unknown> {
    let decision = this.decider.decide(options);
    // A V2 that is not serving would queue or refuse the call: V1 takes it at once.
    // A V1 that is not serving either (decommissioned, stopping) would only trade V2's error for its own.
    const fallback = this.fallback && serving(this.pools.v1);
    if (decision.arm === "v2" && fallback && !serving(this.pools.v2)) decision = unavailable(decision);
    // Where the call was finally served, for the shadow comparison (only kept when there is one).
    const route = this.shadow === null || sink !== null ? null : { arm: decision.arm };
    // Counted on the arm that finally serves the call, by handlers made once (no closure per call).
    let result = this.dispatch(command, args, options, decision);
    if (decision.arm === "v2" && fallback) {
      result = result.then(this.tallies.v2.ok, (e: unknown) => {
        // V2's breaker or drain refused before anything ran; or V2 was switched off under an
        // idempotent call, which may safely run again: V1 serves it, counted there instead.
        const switched = options.idempotent === true && lostWithV2(e) && this.decider.decide(options).arm === "v1";
        if ((!refusedUnrun(e) && !switched) || sink?.delivered === true) return this.tallies.v2.failed(e);
        this.served.v2--;
        this.counts[decision.reason]--;
        if (route !== null) route.arm = "v1";
        return this.dispatch(command, args, options, unavailable(decision)).then(this.tallies.v1.ok, this.tallies.v1.failed);
      });
    } else result = result.then(this.tallies[decision.arm].ok, this.tallies[decision.arm].failed);
    // Once V2 holds everything V1 is retiring: it gets no shadow calls, so that it can be seen idle and decommissioned.
    if (this.shadow !== null && route !== null && !(route.arm === "v2" && this.shadow.mode === "other-arm" && this.o.flags.share() >= 10_000)) {
      this.shadow.maybe(command, args, options.sessionId, options.idempotent === true, result, route, this.pools);
    }
    return result;
  }

  private dispatch(command: string, args: unknown, options: RouteOptions, decision: RouteDecision): Promise<unknown> {
    const { arm } = decision;
    this.served[arm]++;
    this.counts[decision.reason]++;
    const pool = this.pools[arm];
    if (this.events.active) {
      const sticky = options.sessionId ?? options.requestId;
      this.events.emit({
        type: "route.decided",
        pool: pool.name,
        at: Date.now(),
        command,
        arm,
        reason: decision.reason,
        bucket: decision.bucket,
        keyHash: sticky === undefined ? null : murmur3(sticky).toString(16).padStart(8, "0"),
      });
    }
    if (options.requestId === undefined) return pool.execute(command, args, options);
    const { requestId: _, ...poolOptions } = options;
    return pool.execute(command, args, poolOptions);
  }

  async createProgram(definition: ProgramDefinition, options: { id?: string } = {}): Promise<ProgramRecord> {
    const id = programId(options.id);
    return await this.o.store.programs.put(id, checkDefinition(id, definition));
  }

  async executeProgram<T = unknown>(id: string, inputs: Readonly<Record<string, unknown>>, options: RouteOptions = {}): Promise<T> {
    const program = await this.o.store.programs.get(id);
    if (program === undefined) throw new ProgramError({ programId: id, reason: "not found" });
    return await this.execute<T>("execute_program", { program: { id, hash: program.contentHash, definition: program.definition }, inputs }, options);
  }

  listPrograms(): Promise<ProgramRecord[]> {
    return this.o.store.programs.list();
  }

  deleteProgram(id: string): Promise<boolean> {
    return this.o.store.programs.delete(id);
  }

  async healthCheck(): Promise<RouterHealth> {
    const [v1, v2] = await Promise.all([this.pools.v1.health(), this.pools.v2.health()]);
    const v2Used = this.o.flags.get("pool_v2_enabled") && this.o.flags.share() > 0;
    return { healthy: v1.healthy && (v2.healthy || !v2Used), v1, v2, flags: this.o.flags.values(), stats: this.stats() };
  }

  stats(): RouterStats {
    const byReason = Object.fromEntries(REASONS.map((r) => [r, this.counts[r]])) as Record<RouteReason, number>;
    const callers = { v1: { ...this.callers.v1, tags: { ...this.callers.v1.tags } }, v2: { ...this.callers.v2, tags: { ...this.callers.v2.tags } } };
    return { ...this.served, byReason, fallbacks: this.counts.v2_unavailable, callers, shadow: this.shadow?.stats() ?? null };
  }

  async close(): Promise<void> {
    await this.shadow?.settle();
    await this.node?.leave();
  }
}

function unavailable(decision: RouteDecision): RouteDecision {
  return { ...decision, arm: "v1", reason: "v2_unavailable" };
}

/** Handlers that count a call's outcome for callers and pass it on unchanged. */
function tally(c: { calls: number; failed: number; tags: Record<string, number> }): { ok: (result: unknown) => unknown; failed: (error: unknown) => never } {
  return {
    ok: (result) => {
      c.calls++;
      return result;
    },
    failed: (error) => {
      c.calls++;
      c.failed++;
      const tag = (error as { _tag?: unknown } | null)?._tag;
      const key = typeof tag === "string" ? tag : "Error";
      c.tags[key] = (c.tags[key] ?? 0) + 1;
      throw error;
    },
  };
}

function serving(pool: Pool): boolean {
  return pool.state === "serving" || pool.state === "degraded";
}
