/**
 * A process that only routes (it neither leads nor follows a fleet's lease)
 * still shows in the fleet: it registers a node with role "router", beats
 * with the share it applies, and leaves when the router closes, so that
 * `molt status` lists every process serving a rollout.
 *
 * @module
 */
import { hostname } from "node:os";
import { nonEmptyString, option, positiveDuration, refuser, refuseUnknown } from "../config.ts";
import type { Flags } from "../flags/flags.ts";
import type { Store } from "../store/store.ts";
import { MOLT_VERSION } from "../version.ts";

/** Registering a router as a node of a rollout's fleet. */
export interface RouterNodeOptions {
  /** The rollout it serves. Required. */
  readonly rolloutId: string;
  /** Its id in the fleet. Default `<host>-<pid>-router`. */
  readonly nodeId?: string;
  /** How often it beats (stale after a few missed beats). Default 1000. */
  readonly heartbeatMs?: number;
}

/** A router's node settings after defaults. */
export interface RouterNodeSettings {
  readonly rolloutId: string;
  readonly nodeId: string;
  readonly heartbeatMs: number;
}

/** Validate `node` (a router's option), naming `prefix` + the option under `owner`. */
export function resolveRouterNode(node: unknown, owner: string, prefix: string): RouterNodeSettings {
  const bad = refuser(owner, prefix);
  if (typeof node !== "object" || node === null) return bad("node", node, "an object with at least { rolloutId }");
  refuseUnknown(owner, node, ["rolloutId", "nodeId", "heartbeatMs"]);
  const o = node as RouterNodeOptions;
  if (!nonEmptyString.is(o.rolloutId)) bad("node.rolloutId", o.rolloutId, nonEmptyString.allowed);
  return {
    rolloutId: o.rolloutId,
    nodeId: option(owner, `${prefix}node.nodeId`, o.nodeId, nonEmptyString, `${hostname()}-${process.pid}-router`),
    heartbeatMs: option(owner, `${prefix}node.heartbeatMs`, o.heartbeatMs, positiveDuration, 1000),
  };
}

/** @internal A router's registration: joined at once, beaten on a timer, left on `leave`. */
export class RouterNode {
  private readonly who = { host: hostname(), pid: process.pid };
  private timer: ReturnType<typeof setInterval> | null = null;
  private joined = false;
  /** The beat in flight, or null: a store that hangs must not pile beats up behind it. */
  private beating: Promise<void> | null = null;

  constructor(private readonly s: RouterNodeSettings, private readonly store: Store, private readonly flags: Flags, private readonly arms: readonly string[]) {
    const beat = (): void => void (this.beating ??= this.beat().finally(() => (this.beating = null)));
    beat();
    this.timer = setInterval(beat, s.heartbeatMs);
  }

  async leave(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await this.beating;
    if (this.joined) await this.store.nodes.leave(this.s.nodeId, this.who).catch(() => {});
    this.joined = false;
  }

  /** Beat, or join when not known (first time, or marked stale meanwhile); a store away is tried again next beat. */
  private async beat(): Promise<void> {
    try {
      const beat = { role: "router" as const, shareBp: this.flags.share(), state: {} };
      if (this.joined && (await this.store.nodes.beat(this.s.nodeId, this.who, beat))) return;
      await this.store.nodes.join({ nodeId: this.s.nodeId, target: this.s.rolloutId, ...this.who, version: MOLT_VERSION, role: "router", arms: [...this.arms], heartbeatMs: this.s.heartbeatMs });
      this.joined = true;
    } catch {
      // The next beat tries again: routing does not depend on it.
    }
  }
}
