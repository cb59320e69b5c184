/**
 * readFleet: a rollout's fleet as an operator sees it — its nodes, the
 * lease, whether a live node leads, and whether any node is left at all.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import type { Lease } from "../store/tables/leases.ts";
import type { NodeView } from "../store/tables/nodes.ts";

/** A rollout's fleet. */
export interface FleetView {
  readonly rolloutId: string;
  /** Every node that ever joined, live ones first. */
  readonly nodes: readonly NodeView[];
  readonly lease: Lease | null;
  /** The node holding an unexpired lease, if it is live; else null. */
  readonly leader: NodeView | null;
  /** Nodes have joined, and none is live now: nothing serves or leads the rollout. */
  readonly allGone: boolean;
  /** One line on who leads: "leader a (term 3, lease 8.2 s left)", "no live leader: …". */
  readonly leadership: string;
}

/**
 * Read the fleet of `rolloutId` from the store.
 *
 * @example
 * ```ts
 * import { openStore, readFleet } from "molt";
 * const store = await openStore(":memory:");
 * await store.nodes.join({ nodeId: "web-1", target: "r1", host: "a", pid: 10, version: "0.1.0", role: "follower", arms: ["v1", "v2"], heartbeatMs: 1000 });
 * const fleet = await readFleet(store, "r1");
 * console.log(fleet.nodes.length, fleet.leader, fleet.leadership); // 1 null no live leader: the lease was never taken
 * await store.close();
 * ```
 */
export async function readFleet(store: Store, rolloutId: string): Promise<FleetView> {
  const [nodes, lease] = await Promise.all([store.nodes.list(rolloutId), store.leases.get(`rollout:${rolloutId}`)]);
  const holder = lease !== null && lease.holder !== null && lease.remainingMs >= 0 ? nodes.find((n) => n.nodeId === lease.holder) ?? null : null;
  // A migration serving alone leads without a lease.
  const alone = lease === null ? nodes.find((n) => n.live && n.role === "leader") ?? null : null;
  const leader = holder !== null && holder.live ? holder : alone;
  const s = (ms: number): string => `${(Math.abs(ms) / 1000).toFixed(1)} s`;
  const leadership = alone !== null
    ? `served by ${alone.nodeId} alone (pid ${alone.pid} on ${alone.host})`
    : leader !== null
    ? `leader ${leader.nodeId} (term ${lease!.term}, lease ${s(lease!.remainingMs)} left)`
    : lease === null
    ? "no live leader: the lease was never taken"
    : lease.holder === null
    ? `no live leader: the lease was released (term ${lease.term})`
    : lease.remainingMs < 0
    ? `no live leader: ${lease.holder}'s lease (term ${lease.term}) expired ${s(lease.remainingMs)} ago`
    : `no live leader: ${lease.holder} holds the lease (term ${lease.term}, ${s(lease.remainingMs)} left) but has not beaten for ${s(holder?.ageMs ?? 0)}`;
  return { rolloutId, nodes, lease, leader, allGone: nodes.length > 0 && nodes.every((n) => !n.live), leadership };
}
