/**
 * createFleetNode: one replica of a service in a fleet that shares one
 * rollout through the store. Every node registers itself and beats, writes
 * its windows of both arms, serves the share it hears, and seeks the
 * rollout's lease; the node holding it leads: it claims operator commands,
 * judges the merged windows of every node and moves the share, every write
 * fenced by its term.
 *
 * @module
 */
import { hostname } from "node:os";
import { boolean, idRule, nonEmptyString, option, positiveDuration, refuseUnknown, required, type Rule } from "../config.ts";
import { ConfigError, FencedError, FleetError, isMoltError, RolloutError } from "../errors.ts";
import { type Flags, flagsRule } from "../flags/flags.ts";
import { type Pool, poolRule } from "../pool/types.ts";
import { createRolloutController, type OperatorMeta, resolveRolloutSettings, ROLLOUT_SETTINGS, type RolloutController, type RolloutOptions } from "../rollout/controller.ts";
import type { Router } from "../routing/router.ts";
import { fencedStore, type Store, storeRule } from "../store/store.ts";
import type { OperatorCommand } from "../store/tables/commands.ts";
import type { NodeRole } from "../store/tables/nodes.ts";
import { MOLT_VERSION } from "../version.ts";
import { FleetArms } from "./fleet-arms.ts";
import { LeaseKeeper } from "./lease-keeper.ts";
import { WindowRecorder } from "./window-recorder.ts";

/** What a node does when it cannot reach the store: keep the last share it heard, or send everything to V1. */
export type WhenStoreLost = "hold" | "v1";

/** Options of createFleetNode. */
export interface FleetNodeOptions extends Pick<RolloutOptions, (typeof ROLLOUT_SETTINGS)[number]> {
  /** The fleet's store (one PostgreSQL URL, or one SQLite file on one host). Required. */
  readonly store: Store;
  /** This node's flags on that store: the share it serves. Required. */
  readonly flags: Flags;
  /** This node's V1 pool. Required. */
  readonly v1: Pool;
  /** This node's V2 pool, named differently from V1. Required. */
  readonly v2: Pool;
  /** This node's router, whose shadow comparisons its V2 windows carry. Default none. */
  readonly router?: Router;
  /** The rollout the fleet shares (the CLI's `--migration`). Default "rollout". */
  readonly rolloutId?: string;
  /** Unique in the fleet; a live node elsewhere with the same id is a FleetError. Default `<hostname>-<pid>`. */
  readonly nodeId?: string;
  /** How often the node beats; it is stale after 3 missed beats. Default 1000. */
  readonly heartbeatMs?: number;
  /** How long a lease lasts unrenewed (renewed every third of it); at least `windowMs`. Default 10000. */
  readonly leaseMs?: number;
  /** The length of the windows each node writes; a multiple of both pools' slice length. Default: the longer slice. */
  readonly windowMs?: number;
  /** How far back the leader's judgement looks. Default 60000. */
  readonly spanMs?: number;
  /** How often the leader judges. Default `windowMs`. */
  readonly judgeEveryMs?: number;
  /** How often the leader looks for operator commands. Default 250. */
  readonly commandPollMs?: number;
  /** Cut off from the store for `storeLostAfterMs`: "hold" the last share heard, or "v1" (share 0 in this process). Default "hold". */
  readonly whenStoreLost?: WhenStoreLost;
  /** How long without reaching the store before `whenStoreLost` applies and `fleet.store_lost` is emitted. Default 30000. */
  readonly storeLostAfterMs?: number;
  /** The leader starts the rollout when it is idle. Default false (an operator's `start` command does). */
  readonly autoStart?: boolean;
  /** Told about failures of the node's own loops (a beat, a window write); they go on. Default: nothing. */
  readonly onError?: (error: unknown) => void;
}

/** Where a node stands. */
export interface FleetNodeStatus {
  /** This node's id. */
  readonly nodeId: string;
  /** The rollout its fleet shares. */
  readonly rolloutId: string;
  /** "leader" while it holds the lease, "follower", or "stopped". */
  readonly role: NodeRole;
  /** The lease term it leads under, or null. */
  readonly term: number | null;
  /** The V2 share it serves now (basis points). */
  readonly shareBp: number;
  /** Since when (epoch ms) it has not reached the store, or null. */
  readonly storeLostSince: number | null;
  /** Windows written, and waiting to be written (the store was away). */
  readonly windowsWritten: number;
  readonly windowsPending: number;
}

/** A node of a fleet. */
export interface FleetNode {
  /** This node's id. */
  readonly nodeId: string;
  /** The rollout its fleet shares. */
  readonly rolloutId: string;
  /** Where the node stands. */
  status(): FleetNodeStatus;
  /** The rollout's controller while this node leads, else null. */
  rollout(): RolloutController | null;
  /**
   * Leave the fleet: stop the controller while still holding the lease (so
   * its last writes land), write the windows already cut, release the lease
   * for the next node, and mark the node stopped. Safe to repeat (every call
   * resolves when it is done). The pools, flags and store stay the caller's.
   */
  stop(): Promise<void>;
}

const fallbackRule: Rule<WhenStoreLost> = { is: (v): v is WhenStoreLost => v === "hold" || v === "v1", allowed: `"hold" or "v1"` };
const fnRule: Rule<(e: unknown) => void> = { is: (v): v is (e: unknown) => void => typeof v === "function", allowed: "a function" };

interface Settings {
  readonly rolloutId: string;
  readonly nodeId: string;
  readonly heartbeatMs: number;
  readonly leaseMs: number;
  readonly windowMs: number;
  readonly spanMs: number;
  readonly judgeEveryMs: number;
  readonly commandPollMs: number;
  readonly whenStoreLost: WhenStoreLost;
  readonly storeLostAfterMs: number;
  readonly autoStart: boolean;
  readonly onError: (e: unknown) => void;
}

function atLeast(owner: string, name: string, value: number, floor: number, what: string): number {
  if (value < floor) throw new ConfigError({ owner, option: name, received: value, allowed: `at least ${what} (${floor} ms)` });
  return value;
}

function resolve(o: FleetNodeOptions): Settings {
  const owner = "fleet node";
  refuseUnknown(owner, o, [
    "store", "flags", "v1", "v2", "router", "rolloutId", "nodeId", "heartbeatMs", "leaseMs", "windowMs", "spanMs", "judgeEveryMs",
    "commandPollMs", "whenStoreLost", "storeLostAfterMs", "autoStart", "onError", ...ROLLOUT_SETTINGS,
  ]);
  required(owner, "store", o.store, storeRule);
  required(owner, "flags", o.flags, flagsRule);
  const v1 = required(owner, "v1", o.v1, poolRule);
  const v2 = required(owner, "v2", o.v2, poolRule);
  if (v1 === v2) throw new ConfigError({ owner, option: "v2", received: v2.name, allowed: "a pool other than v1" });
  resolveRolloutSettings(o, owner, "");
  const slice = Math.max(v1.metrics().sliceMs, v2.metrics().sliceMs);
  const windowMs = option(owner, "windowMs", o.windowMs, positiveDuration, Math.ceil(slice));
  for (const pool of [v1, v2]) {
    const s = pool.metrics().sliceMs;
    if (windowMs % s !== 0) throw new ConfigError({ owner, option: "windowMs", received: windowMs, allowed: `a multiple of pool "${pool.name}"'s slice length (${s} ms: its windowMs / windowSlices)` });
  }
  if (v1.name === v2.name) throw new ConfigError({ owner, option: "v2.name", received: v2.name, allowed: `a name other than v1's (${JSON.stringify(v1.name)}): each arm's windows are written under its pool's name` });
  const leaseMs = atLeast(owner, "leaseMs", option(owner, "leaseMs", o.leaseMs, positiveDuration, 10_000), windowMs, "windowMs: a leader must outlive the window it judges,");
  const heartbeatMs = option(owner, "heartbeatMs", o.heartbeatMs, positiveDuration, 1000);
  if (heartbeatMs >= leaseMs) throw new ConfigError({ owner, option: "heartbeatMs", received: heartbeatMs, allowed: `less than leaseMs (${leaseMs} ms)` });
  return {
    rolloutId: option(owner, "rolloutId", o.rolloutId, idRule, "rollout"),
    nodeId: option(owner, "nodeId", o.nodeId, nonEmptyString, `${hostname()}-${process.pid}`),
    heartbeatMs,
    leaseMs,
    windowMs,
    spanMs: atLeast(owner, "spanMs", option(owner, "spanMs", o.spanMs, positiveDuration, 60_000), windowMs, "windowMs"),
    judgeEveryMs: option(owner, "judgeEveryMs", o.judgeEveryMs, positiveDuration, windowMs),
    commandPollMs: option(owner, "commandPollMs", o.commandPollMs, positiveDuration, 250),
    whenStoreLost: option(owner, "whenStoreLost", o.whenStoreLost, fallbackRule, "hold"),
    storeLostAfterMs: option(owner, "storeLostAfterMs", o.storeLostAfterMs, positiveDuration, 30_000),
    autoStart: option(owner, "autoStart", o.autoStart, boolean, false),
    onError: option(owner, "onError", o.onError, fnRule, () => {}),
  };
}

/**
 * Join a fleet: register this process as a node of `rolloutId`'s fleet and
 * start its loops. Rejects with a FleetError when a live node elsewhere has
 * the same id, with a ConfigError for a bad option; nothing is left running
 * either way.
 *
 * @example
 * ```ts
 * import { createFlags, createFleetNode, createPool, openStore } from "molt";
 * const store = await openStore(":memory:");
 * const flags = await createFlags({ store, env: {} });
 * const handler = "./test/fixtures/echo_handler.py";
 * const v1 = await createPool({ name: "v1", strategy: "basic", handler, size: 1, heartbeatMs: 0 });
 * const v2 = await createPool({ name: "v2", handler, size: 1, heartbeatMs: 0 });
 * const node = await createFleetNode({ store, flags, v1, v2, nodeId: "web-1", leaseMs: 10_000, heartbeatMs: 200 });
 * await new Promise((r) => setTimeout(r, 300));
 * console.log(node.status().role, (await store.nodes.list("rollout"))[0]?.nodeId); // leader web-1
 * await node.stop();
 * await Promise.all([v1.stop(), v2.stop()]);
 * await flags.close();
 * await store.close();
 * ```
 */
export async function createFleetNode(options: FleetNodeOptions): Promise<FleetNode> {
  const settings = resolve(options);
  const node = new Node(options, settings);
  await node.join();
  return node;
}

/** What this node leads under one term: the controller and the store as the term writes it. */
interface Leading {
  readonly term: number;
  readonly controller: RolloutController;
  /** The store, every write fenced by this term. */
  readonly store: Store;
}

class Node implements FleetNode {
  readonly nodeId: string;
  readonly rolloutId: string;
  private readonly who = { host: hostname(), pid: process.pid };
  private readonly keeper: LeaseKeeper;
  private readonly recorder: WindowRecorder;
  private leading: Leading | null = null;
  private timers: ReturnType<typeof setTimeout>[] = [];
  /** Set once stop() begins: no loop starts anything new after it. */
  private stopping = false;
  private stopped: Promise<void> | null = null;
  /** Leading and following, commands and judgements: one at a time. */
  private chain: Promise<unknown> = Promise.resolve();
  /** The loops' runs in progress, which stop() waits for. */
  private readonly running = new Map<string, Promise<unknown>>();
  private storeOkAt = Date.now();
  private storeLostSince: number | null = null;
  private nextJudgeAt = 0;

  constructor(private readonly o: FleetNodeOptions, private readonly s: Settings) {
    this.nodeId = s.nodeId;
    this.rolloutId = s.rolloutId;
    this.keeper = new LeaseKeeper(o.store, `rollout:${s.rolloutId}`, s.nodeId, s.leaseMs, {
      gained: (term) => void this.serial(() => this.lead(term)),
      lost: (term, reason) => void this.serial(() => this.follow(term, reason)),
    }, s.onError);
    this.recorder = new WindowRecorder({ store: o.store, v1: o.v1, v2: o.v2, router: o.router ?? null, target: s.rolloutId, nodeId: s.nodeId, windowMs: s.windowMs, partialEnds: false, onError: s.onError });
  }

  async join(): Promise<void> {
    await this.o.store.nodes.join({ ...this.identity(), role: "follower" });
    this.every("heartbeat", this.s.heartbeatMs, () => this.beat());
    // Apart from the beats: a beat that hangs (a connection dropped without a word, as in a partition) must count too.
    this.every("store-watch", this.s.heartbeatMs, () => Promise.resolve(this.unreached()));
    this.every("lease", Math.max(1, Math.floor(this.s.leaseMs / 3)), () => this.keeper.step());
    this.every("commands", this.s.commandPollMs, () => this.serial(() => this.leadRound()));
    this.every("flush", Math.max(1, Math.floor(this.s.windowMs / 2)), () => this.recorder.flush());
    // A window that began before the node joined is partial: its first whole window is the next.
    this.recorder.start();
    await this.keeper.step().catch(this.s.onError);
  }

  status(): FleetNodeStatus {
    return {
      nodeId: this.nodeId,
      rolloutId: this.rolloutId,
      role: this.stopping ? "stopped" : this.leading !== null ? "leader" : "follower",
      term: this.leading?.term ?? null,
      shareBp: this.o.flags.share(),
      storeLostSince: this.storeLostSince,
      windowsWritten: this.recorder.written,
      windowsPending: this.recorder.waiting,
    };
  }

  rollout(): RolloutController | null {
    return this.leading?.controller ?? null;
  }

  stop(): Promise<void> {
    this.stopped ??= this.shutdown();
    return this.stopped;
  }

  private async shutdown(): Promise<void> {
    this.stopping = true;
    // Each step waits at most a lease: a store that hangs (a partition) must not make stop() hang; the lease then expires.
    const bounded = (p: Promise<unknown>): Promise<unknown> => within(p, this.s.leaseMs, () => this.s.onError(new FleetError({ nodeId: this.nodeId, operation: "stop", reason: `the store did not answer within leaseMs (${this.s.leaseMs} ms); going on without it` })));
    // The lease keeps being renewed while the controller finishes (a rollback may drain V2): its last writes, and its
    // final snapshot, land under a term that still holds.
    for (const t of this.timers) if (t !== this.renewal) clearTimeout(t);
    this.recorder.stop();
    await bounded(this.chain);
    const leading = this.leading;
    // A rollback may drain V2 for a while; a store that hangs must still not hold stop() for ever.
    if (leading !== null) await within(this.serial(() => leading.controller.stop()).catch(this.s.onError), 3 * this.s.leaseMs, () => this.s.onError(new FleetError({ nodeId: this.nodeId, operation: "stop", reason: "the rollout controller did not stop within 3 × leaseMs" })));
    if (this.renewal !== null) clearInterval(this.renewal);
    this.timers = [];
    await bounded(Promise.all(this.running.values()));
    await bounded(this.recorder.flush().catch(this.s.onError));
    await bounded(this.keeper.release());
    await bounded(this.chain);
    if (this.storeLostSince !== null && this.s.whenStoreLost === "v1") this.o.flags.unpin("pool_v2_share");
    await bounded(this.o.store.nodes.leave(this.nodeId, this.who).catch(this.s.onError));
  }

  private identity() {
    return { nodeId: this.nodeId, target: this.rolloutId, ...this.who, version: MOLT_VERSION, arms: [this.o.v1.name, this.o.v2.name], heartbeatMs: this.s.heartbeatMs };
  }

  /** The lease loop's timer, which stop() clears last. */
  private renewal: ReturnType<typeof setInterval> | null = null;

  /** Run `fn` every `ms`, never two at once; a failure goes to onError. The lease loop runs on while the node stops. */
  private every(name: string, ms: number, fn: () => Promise<unknown>): void {
    const t = setInterval(() => {
      if ((this.stopping && name !== "lease") || this.running.has(name)) return;
      const run = fn().catch(this.s.onError).finally(() => this.running.delete(name));
      this.running.set(name, run);
    }, ms);
    this.timers.push(t);
    if (name === "lease") this.renewal = t;
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(this.s.onError);
    return run;
  }

  private async beat(): Promise<void> {
    try {
      const state = { lastWindow: this.recorder.lastWindow, term: this.leading?.term ?? null, storeLost: this.storeLostSince !== null };
      const role = this.leading !== null ? "leader" : "follower";
      const known = await this.o.store.nodes.beat(this.nodeId, this.who, { role, shareBp: this.o.flags.share(), state });
      // Marked stale and taken over, or removed: join again (a FleetError if another live process has the id now); never once stopping.
      if (!known && !this.stopping) await this.o.store.nodes.join({ ...this.identity(), role });
      this.reached();
    } catch (e) {
      this.unreached();
      throw e;
    }
  }

  /** Heard from the store: its share is the one to serve again, if it was lost. */
  private reached(): void {
    this.storeOkAt = Date.now();
    if (this.storeLostSince === null) return;
    const lostMs = Date.now() - this.storeLostSince;
    this.storeLostSince = null;
    if (this.s.whenStoreLost === "v1") this.o.flags.unpin("pool_v2_share");
    // Whatever was missed while away.
    this.o.flags.refresh().catch(this.s.onError);
    this.o.v2.events.emit({ type: "fleet.store_recovered", pool: this.o.v2.name, at: Date.now(), nodeId: this.nodeId, lostMs });
  }

  /** Not heard from the store for storeLostAfterMs (checked on every failed beat, and on a timer of its own): fall back. */
  private unreached(): void {
    const since = Date.now() - this.storeOkAt;
    if (this.storeLostSince !== null || since < this.s.storeLostAfterMs) return;
    this.storeLostSince = this.storeOkAt;
    if (this.s.whenStoreLost === "v1") this.o.flags.pin("pool_v2_share", 0);
    this.o.v2.events.emit({ type: "fleet.store_lost", pool: this.o.v2.name, at: Date.now(), nodeId: this.nodeId, fallback: this.s.whenStoreLost, sinceMs: since });
  }

  /** Took the lease: restore the rollout under this term, an emergency rollback asked for meanwhile first. */
  private async lead(term: number): Promise<void> {
    if (this.stopping || this.keeper.term !== term || this.leading?.term === term) return;
    const o = this.o;
    try {
      // Asked for while nothing led, or claimed by a leader that died before applying it.
      const open = (await o.store.commands.list(this.rolloutId, 200)).filter((c) =>
        c.command === "emergency_rollback" && (c.status === "pending" || (c.status === "claimed" && (c.claimedTerm ?? 0) < term))
      );
      const reason = open.length === 0 ? undefined : String(open.at(-1)!.args.reason ?? "emergency rollback (requested with no leader)");
      const fence = o.store.leases.fence(this.keeper.name, this.nodeId, term);
      const store = fencedStore(o.store, fence);
      const rollout: Partial<RolloutOptions> = {};
      for (const key of ROLLOUT_SETTINGS) if (o[key] !== undefined) Object.assign(rollout, { [key]: o[key] });
      const controller = await createRolloutController({
        ...rollout,
        v1: o.v1, v2: o.v2, flags: o.flags, store: o.store, router: o.router, rolloutId: this.rolloutId,
        fence,
        arms: new FleetArms({ store: o.store, v1: o.v1, v2: o.v2, target: this.rolloutId, spanMs: this.s.spanMs, noiseFloor: o.noiseFloor ?? 0, countedBefore: Date.now() }),
        rollbackOnRestore: reason,
      });
      this.leading = { term, controller, store };
      for (const c of open) {
        if ((await store.commands.claim(this.rolloutId, this.nodeId, term, c.id)) !== undefined) {
          await store.commands.complete(c.id, "applied", { appliedBy: this.nodeId, term, onRestore: true, ...controller.status() });
        }
      }
      this.nextJudgeAt = Date.now() + this.s.judgeEveryMs;
      o.v2.events.emit({ type: "fleet.leader_elected", pool: o.v2.name, at: Date.now(), rolloutId: this.rolloutId, nodeId: this.nodeId, term });
      if (this.s.autoStart && controller.status().state === "idle") await controller.start();
    } catch (e) {
      this.keeper.demote(term, `could not take up the rollout: ${(e as Error).message}`);
      throw e;
    }
  }

  private async follow(term: number, reason: string): Promise<void> {
    const leading = this.leading;
    if (leading === null || leading.term !== term) return;
    this.leading = null;
    // Its final snapshot is refused once the term is over: the journal already holds everything it did.
    await leading.controller.stop().catch(() => {});
    this.o.v2.events.emit({ type: "fleet.leader_lost", pool: this.o.v2.name, at: Date.now(), rolloutId: this.rolloutId, nodeId: this.nodeId, term, reason });
  }

  /** While leading: apply the commands queued, then judge when a judgement is due. */
  private async leadRound(): Promise<void> {
    const leading = this.leading;
    if (leading === null || this.stopping) return;
    const { term, controller, store } = leading;
    try {
      for (let c = await store.commands.claim(this.rolloutId, this.nodeId, term); c !== undefined; c = await store.commands.claim(this.rolloutId, this.nodeId, term)) {
        await this.apply(leading, c);
      }
      if (Date.now() >= this.nextJudgeAt) {
        this.nextJudgeAt = Date.now() + this.s.judgeEveryMs;
        // A failed tick is reported by the controller (event, decision, status); a fenced one ends this term.
        await controller.tick().catch((e) => {
          if (!(e instanceof FencedError)) return;
          throw e;
        });
      }
    } catch (e) {
      if (e instanceof FencedError) this.keeper.demote(term, e.message);
      throw e;
    }
  }

  /**
   * Apply a claimed command and write its result. Applying and writing the
   * result are separate: a result that cannot be written leaves the command
   * claimed (the next leader applies it again: the rollout's commands are
   * idempotent), never marked failed after it was applied.
   */
  private async apply(leading: Leading, c: OperatorCommand): Promise<void> {
    const reason = typeof c.args.reason === "string" ? c.args.reason : undefined;
    const by = { appliedBy: this.nodeId, term: leading.term };
    const outcome = await applyCommand(leading.controller, c.command, reason, c.requestedBy === null ? {} : { by: c.requestedBy }).then(
      (result) => ({ status: "applied" as const, result: JSON.parse(JSON.stringify({ ...result, ...by })) }),
      (e: unknown) => {
        if (e instanceof FencedError) throw e;
        return { status: "failed" as const, result: { error: String((e as Error).message ?? e), tag: isMoltError(e) ? e._tag : null, ...by } };
      },
    );
    await leading.store.commands.complete(c.id, outcome.status, outcome.result);
  }
}

/** Wait for `p`, at most `ms`; past that, tell `late` and go on (no timer left either way). */
async function within(p: Promise<unknown>, ms: number, late: () => void): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<void>((r) => (timer = setTimeout(() => (late(), r()), ms)));
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Apply one operator command to the rollout; what it resolves with is written back as the command's result. */
async function applyCommand(controller: RolloutController, command: string, reason: string | undefined, meta: OperatorMeta): Promise<Record<string, unknown>> {
  switch (command) {
    case "start":
      return { ...(await controller.start()) };
    case "pause":
      return { ...(await controller.pause(reason, meta)) };
    case "resume":
      return { ...(await controller.resume(meta)) };
    case "promote":
      return { ...(await controller.promote(meta)) };
    case "promote_stage":
      return { ...(await controller.promoteStage(meta)) };
    case "abort":
      return { report: await controller.abort(reason, meta), ...controller.status() };
    case "rollback":
      return { report: await controller.rollback(reason, meta), ...controller.status() };
    case "emergency_rollback":
      return { report: await controller.emergencyRollback(reason, meta), ...controller.status() };
    default:
      throw new RolloutError({ rolloutId: controller.rolloutId, command, state: controller.status().detail, allowed: "commands start, pause, resume, promote, promote_stage, abort, rollback, emergency_rollback" });
  }
}
