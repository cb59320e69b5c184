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
import { ConfigError, FencedError, isMoltError, RolloutError } from "../errors.ts";
import { type Flags, flagsRule } from "../flags/flags.ts";
import { type Pool, poolRule } from "../pool/types.ts";
import { createRolloutController, resolveRolloutSettings, ROLLOUT_SETTINGS, type RolloutController, type RolloutOptions } from "../rollout/controller.ts";
import type { Router } from "../routing/router.ts";
import { fencedStore, type Store, storeRule } from "../store/store.ts";
import type { OperatorCommand } from "../store/tables/commands.ts";
import type { NodeRole } from "../store/tables/nodes.ts";
import { MOLT_VERSION } from "../version.ts";
import { FleetArms } from "./fleet-arms.ts";
import { LeaseKeeper } from "./lease-keeper.ts";
import { NodeWindowCutter, type NodeWindow } from "./node-window.ts";

/** What a node does when it cannot reach the store: keep the last share it heard, or send everything to V1. */
export type WhenStoreLost = "hold" | "v1";

/** Options of createFleetNode. */
export interface FleetNodeOptions extends Pick<RolloutOptions, (typeof ROLLOUT_SETTINGS)[number]> {
  readonly store: Store;
  readonly flags: Flags;
  readonly v1: Pool;
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
  /** Default 30000. */
  readonly storeLostAfterMs?: number;
  /** The leader starts the rollout when it is idle. Default false (an operator's `start` command does). */
  readonly autoStart?: boolean;
  /** Told about failures of the node's own loops (a beat, a window write); they go on. Default: nothing. */
  readonly onError?: (error: unknown) => void;
}

/** Where a node stands. */
export interface FleetNodeStatus {
  readonly nodeId: string;
  readonly rolloutId: string;
  readonly role: NodeRole;
  /** The lease term it leads under, or null. */
  readonly term: number | null;
  readonly shareBp: number;
  /** Since when (epoch ms) it has not reached the store, or null. */
  readonly storeLostSince: number | null;
  /** Windows written, and waiting to be written (the store was away). */
  readonly windowsWritten: number;
  readonly windowsPending: number;
}

/** A node of a fleet. */
export interface FleetNode {
  readonly nodeId: string;
  readonly rolloutId: string;
  status(): FleetNodeStatus;
  /** The rollout's controller while this node leads, else null. */
  rollout(): RolloutController | null;
  /** Stop leading (the lease is released for the next node), write no more windows, and leave the fleet. The pools, flags and store stay the caller's. */
  stop(): Promise<void>;
}

const fallbackRule: Rule<WhenStoreLost> = { is: (v): v is WhenStoreLost => v === "hold" || v === "v1", allowed: `"hold" or "v1"` };
const fnRule: Rule<(e: unknown) => void> = { is: (v): v is (e: unknown) => void => typeof v === "function", allowed: "a function" };
/** Windows kept while the store is away, written when it is back. */
const PENDING_WINDOWS = 64;
/** How long after a window ends it is cut: its last slice must have ended. */
const CUT_DELAY_MS = 20;

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
  const leaseMs = option(owner, "leaseMs", o.leaseMs, positiveDuration, 10_000);
  if (leaseMs < windowMs) throw new ConfigError({ owner, option: "leaseMs", received: leaseMs, allowed: `at least windowMs (${windowMs} ms): a leader must outlive the window it judges` });
  const heartbeatMs = option(owner, "heartbeatMs", o.heartbeatMs, positiveDuration, 1000);
  if (heartbeatMs >= leaseMs) throw new ConfigError({ owner, option: "heartbeatMs", received: heartbeatMs, allowed: `less than leaseMs (${leaseMs} ms)` });
  return {
    rolloutId: option(owner, "rolloutId", o.rolloutId, idRule, "rollout"),
    nodeId: option(owner, "nodeId", o.nodeId, nonEmptyString, `${hostname()}-${process.pid}`),
    heartbeatMs,
    leaseMs,
    windowMs,
    spanMs: option(owner, "spanMs", o.spanMs, positiveDuration, 60_000),
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

class Node implements FleetNode {
  readonly nodeId: string;
  readonly rolloutId: string;
  private readonly who = { host: hostname(), pid: process.pid };
  private readonly keeper: LeaseKeeper;
  private readonly cutters: readonly [NodeWindowCutter, NodeWindowCutter];
  private controller: RolloutController | null = null;
  private role: NodeRole = "follower";
  private timers: ReturnType<typeof setTimeout>[] = [];
  private stopped = false;
  /** Leading and following, commands and judgements: one at a time. */
  private chain: Promise<unknown> = Promise.resolve();
  private joinedAt = 0;
  private pending: { pool: string; window: NodeWindow }[] = [];
  private written = 0;
  private lastWindow = { v1Calls: 0, v2Calls: 0 };
  private storeOkAt = Date.now();
  private storeLostSince: number | null = null;
  private nextJudgeAt = 0;
  private busy = new Set<string>();
  /** The store as this term writes it (fenced), while leading. */
  private fenced: Store | null = null;

  constructor(private readonly o: FleetNodeOptions, private readonly s: Settings) {
    this.nodeId = s.nodeId;
    this.rolloutId = s.rolloutId;
    this.keeper = new LeaseKeeper(o.store, `rollout:${s.rolloutId}`, s.nodeId, s.leaseMs, {
      gained: (term) => void this.serial(() => this.lead(term)),
      lost: (term, reason) => void this.serial(() => this.follow(term, reason)),
    });
    const v2Router = o.router ?? null;
    this.cutters = [new NodeWindowCutter(o.v1, s.rolloutId, null), new NodeWindowCutter(o.v2, s.rolloutId, v2Router)];
  }

  async join(): Promise<void> {
    await this.o.store.nodes.join({ ...this.identity(), role: "follower" });
    this.joinedAt = Date.now();
    this.every("heartbeat", this.s.heartbeatMs, () => this.beat());
    this.every("lease", Math.max(1, Math.floor(this.s.leaseMs / 3)), () => this.keeper.step());
    this.every("commands", this.s.commandPollMs, () => this.serial(() => this.leadRound()));
    this.scheduleCut();
    await this.keeper.step().catch(this.s.onError);
  }

  status(): FleetNodeStatus {
    return {
      nodeId: this.nodeId,
      rolloutId: this.rolloutId,
      role: this.stopped ? "stopped" : this.role,
      term: this.keeper.term,
      shareBp: this.o.flags.share(),
      storeLostSince: this.storeLostSince,
      windowsWritten: this.written,
      windowsPending: this.pending.length,
    };
  }

  rollout(): RolloutController | null {
    return this.controller;
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers = [];
    await this.chain;
    // Its final snapshot first, while the term still holds.
    const controller = this.controller;
    if (controller !== null) await this.serial(() => controller.stop()).catch(() => {});
    await this.keeper.release();
    await this.chain;
    if (this.storeLostSince !== null) this.o.flags.unpin("pool_v2_share");
    await this.o.store.nodes.leave(this.nodeId, this.who).catch(this.s.onError);
  }

  private identity() {
    return { nodeId: this.nodeId, target: this.rolloutId, ...this.who, version: MOLT_VERSION, arms: [this.o.v1.name, this.o.v2.name], heartbeatMs: this.s.heartbeatMs };
  }

  /** Run `fn` every `ms`, never two at once; a failure goes to onError. */
  private every(name: string, ms: number, fn: () => Promise<unknown>): void {
    const t = setInterval(() => {
      if (this.stopped || this.busy.has(name)) return;
      this.busy.add(name);
      fn().catch(this.s.onError).finally(() => this.busy.delete(name));
    }, ms);
    this.timers.push(t);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.chain.then(fn);
    this.chain = run.catch(this.s.onError);
    return run;
  }

  private async beat(): Promise<void> {
    try {
      const state = { lastWindow: this.lastWindow, term: this.keeper.term, storeLost: this.storeLostSince !== null };
      const known = await this.o.store.nodes.beat(this.nodeId, this.who, { role: this.role, shareBp: this.o.flags.share(), state });
      // Marked stale and taken over, or removed: join again (a FleetError if another live process has the id now).
      if (!known) await this.o.store.nodes.join({ ...this.identity(), role: this.role });
      this.reached();
    } catch (e) {
      this.unreached();
      throw e;
    }
  }

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

  private unreached(): void {
    const since = Date.now() - this.storeOkAt;
    if (this.storeLostSince !== null || since < this.s.storeLostAfterMs) return;
    this.storeLostSince = this.storeOkAt;
    if (this.s.whenStoreLost === "v1") this.o.flags.pin("pool_v2_share", 0);
    this.o.v2.events.emit({ type: "fleet.store_lost", pool: this.o.v2.name, at: Date.now(), nodeId: this.nodeId, fallback: this.s.whenStoreLost, sinceMs: since });
  }

  /** Cut both arms' windows at each boundary, and write them (with any the store missed). */
  private scheduleCut(): void {
    if (this.stopped) return;
    const w = this.s.windowMs;
    const end = (Math.floor(Date.now() / w) + 1) * w;
    const t = setTimeout(() => {
      this.timers = this.timers.filter((x) => x !== t);
      this.cut(end - w, end).catch(this.s.onError).finally(() => this.scheduleCut());
    }, end - Date.now() + CUT_DELAY_MS);
    this.timers.push(t);
  }

  private async cut(from: number, to: number): Promise<void> {
    // A window that began before the node joined is partial: its first whole window is the next.
    if (from >= this.joinedAt) {
      const [a, b] = this.cutters.map((c) => c.cut(from, to));
      this.lastWindow = { v1Calls: a!.calls, v2Calls: b!.calls };
      this.pending.push({ pool: this.o.v1.name, window: a! }, { pool: this.o.v2.name, window: b! });
      if (this.pending.length > PENDING_WINDOWS) this.pending.splice(0, this.pending.length - PENDING_WINDOWS);
    }
    while (this.pending.length > 0) {
      const { pool, window } = this.pending[0]!;
      await this.o.store.poolMetrics.record({ poolName: pool, nodeId: this.nodeId, timestamp: window.from, metrics: window as never });
      this.pending.shift();
      this.written++;
    }
  }

  /** Took the lease: restore the rollout under this term, an emergency rollback asked for meanwhile first. */
  private async lead(term: number): Promise<void> {
    if (this.stopped || this.keeper.term !== term) return;
    const o = this.o;
    try {
      const pending = await o.store.commands.pending(this.rolloutId);
      const emergency = pending.filter((c) => c.command === "emergency_rollback");
      const reason = emergency.length === 0 ? undefined : String(emergency[0]!.args.reason ?? "emergency rollback (requested with no leader)");
      const fence = o.store.leases.fence(this.keeper.name, this.nodeId, term);
      this.fenced = fencedStore(o.store, fence);
      const rollout: Partial<RolloutOptions> = {};
      for (const key of ROLLOUT_SETTINGS) if (o[key] !== undefined) Object.assign(rollout, { [key]: o[key] });
      this.controller = await createRolloutController({
        ...rollout,
        v1: o.v1, v2: o.v2, flags: o.flags, store: o.store, router: o.router, rolloutId: this.rolloutId,
        fence,
        arms: new FleetArms({ store: o.store, v1: o.v1, v2: o.v2, target: this.rolloutId, spanMs: this.s.spanMs, noiseFloor: o.noiseFloor ?? 0, countedBefore: Date.now() }),
        rollbackOnRestore: reason,
      });
      for (const c of emergency) await this.fenced.commands.complete(c.id, "applied", { appliedBy: this.nodeId, term, onRestore: true });
      this.role = "leader";
      this.nextJudgeAt = Date.now() + this.s.judgeEveryMs;
      o.v2.events.emit({ type: "fleet.leader_elected", pool: o.v2.name, at: Date.now(), rolloutId: this.rolloutId, nodeId: this.nodeId, term });
      if (this.s.autoStart && this.controller.status().state === "idle") await this.controller.start();
    } catch (e) {
      this.keeper.demote(`could not take up the rollout: ${(e as Error).message}`);
      throw e;
    }
  }

  private async follow(term: number, reason: string): Promise<void> {
    const controller = this.controller;
    this.controller = null;
    this.fenced = null;
    this.role = "follower";
    // Its final snapshot is refused once the term is over: the journal already holds everything it did.
    await controller?.stop().catch(() => {});
    this.o.v2.events.emit({ type: "fleet.leader_lost", pool: this.o.v2.name, at: Date.now(), rolloutId: this.rolloutId, nodeId: this.nodeId, term, reason });
  }

  /** While leading: apply the commands queued, then judge when a judgement is due. */
  private async leadRound(): Promise<void> {
    const controller = this.controller;
    const term = this.keeper.term;
    if (controller === null || term === null || this.stopped) return;
    try {
      const store = this.fenced!.commands;
      for (let c = await store.claim(this.rolloutId, this.nodeId, term); c !== undefined; c = await store.claim(this.rolloutId, this.nodeId, term)) {
        await this.apply(controller, c, term);
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
      if (e instanceof FencedError) this.keeper.demote(e.message);
      throw e;
    }
  }

  private async apply(controller: RolloutController, c: OperatorCommand, term: number): Promise<void> {
    const reason = typeof c.args.reason === "string" ? c.args.reason : undefined;
    try {
      const result = await applyCommand(controller, c.command, reason);
      await this.fenced!.commands.complete(c.id, "applied", JSON.parse(JSON.stringify({ ...result, appliedBy: this.nodeId, term })));
    } catch (e) {
      if (e instanceof FencedError) throw e;
      await this.fenced!.commands.complete(c.id, "failed", { error: String((e as Error).message ?? e), tag: isMoltError(e) ? e._tag : null, appliedBy: this.nodeId, term });
    }
  }
}

/** Apply one operator command to the rollout; what it resolves with is written back as the command's result. */
async function applyCommand(controller: RolloutController, command: string, reason: string | undefined): Promise<Record<string, unknown>> {
  switch (command) {
    case "start":
      return { ...(await controller.start()) };
    case "pause":
      return { ...(await controller.pause(reason)) };
    case "resume":
      return { ...(await controller.resume()) };
    case "promote":
      return { ...(await controller.promote()) };
    case "abort":
    case "rollback":
      return { report: await controller.rollback(reason), ...controller.status() };
    case "emergency_rollback":
      return { report: await controller.emergencyRollback(reason), ...controller.status() };
    default:
      throw new RolloutError({ rolloutId: controller.rolloutId, command, state: controller.status().detail, allowed: "commands start, pause, resume, promote, abort, rollback, emergency_rollback" });
  }
}
