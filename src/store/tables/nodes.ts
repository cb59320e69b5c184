/**
 * `nodes`: every process that routes or leads a rollout, with its heartbeat.
 * Heartbeats are stamped with the store's clock, so a node's age does not
 * depend on whose host clock is right.
 *
 * @module
 */
import * as Schema from "effect/Schema";
import { FleetError } from "../../errors.ts";
import { jsonColumn, JsonObject, Millis, rowCodec } from "../codec.ts";
import type { Driver, SqlRow, SqlValue } from "../driver.ts";

/** Heartbeats a node may miss before it counts as stale. */
export const STALE_BEATS = 3;

/** What a node does: leads the rollout, follows it, or has stopped. */
export const NodeRole: Schema.Codec<NodeRole> = Schema.Literals(["leader", "follower", "router", "stopped"]);
/** What a node does: leads the rollout, follows it, only routes (a router registered with `node`), or has stopped. */
export type NodeRole = "leader" | "follower" | "router" | "stopped";

/** A node as registered. */
export const NodeRecord: Schema.Codec<NodeRecord> = Schema.Struct({
  nodeId: Schema.NonEmptyString,
  target: Schema.NonEmptyString,
  host: Schema.String,
  pid: Schema.Int,
  version: Schema.String,
  role: NodeRole,
  arms: Schema.Array(Schema.String),
  heartbeatMs: Schema.Int,
  startedAt: Millis,
  heartbeatAt: Millis,
  stoppedAt: Schema.NullOr(Millis),
  shareBp: Schema.NullOr(Schema.Int),
  state: JsonObject,
});
/** A node as registered. */
export type NodeRecord = {
  readonly nodeId: string;
  /** The rollout (migration) it serves. */
  readonly target: string;
  readonly host: string;
  readonly pid: number;
  /** molt's version. */
  readonly version: string;
  readonly role: NodeRole;
  /** The pools it serves, V1's then V2's. */
  readonly arms: readonly string[];
  readonly heartbeatMs: number;
  readonly startedAt: number;
  readonly heartbeatAt: number;
  readonly stoppedAt: number | null;
  /** The V2 share it applies (basis points), as of its last heartbeat. */
  readonly shareBp: number | null;
  /** What else it reports with its heartbeat: its last window's calls per arm, whether it lost the store. */
  readonly state: JsonObject;
};

/** A node as read: its record, how long since its heartbeat (on the store's clock), and whether it is live. */
export interface NodeView extends NodeRecord {
  readonly ageMs: number;
  /** Not stopped, and heard from within STALE_BEATS heartbeats. */
  readonly live: boolean;
}

const codec = rowCodec(
  "nodes",
  NodeRecord,
  (r) => `node_id=${r.node_id}`,
  (r: SqlRow) => ({
    nodeId: r.node_id,
    target: r.target,
    host: r.host,
    pid: r.pid,
    version: r.version,
    role: r.role,
    arms: jsonColumn(r, "arms"),
    heartbeatMs: r.heartbeat_ms,
    startedAt: r.started_at,
    heartbeatAt: r.heartbeat_at,
    stoppedAt: r.stopped_at,
    shareBp: r.share_bp,
    state: jsonColumn(r, "state"),
  }),
);

/** What a node says when it joins. */
export type NodeJoin = Pick<NodeRecord, "nodeId" | "target" | "host" | "pid" | "version" | "role" | "arms" | "heartbeatMs">;

/** What a node says with each heartbeat. */
export interface NodeBeat {
  readonly role: NodeRole;
  readonly shareBp: number | null;
  readonly state: Record<string, unknown>;
}

/**
 * The fleet's nodes.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * const store = await openStore(":memory:");
 * await store.nodes.join({ nodeId: "web-1", target: "m1", host: "a", pid: 10, version: "0.1.0", role: "follower", arms: ["v1", "v2"], heartbeatMs: 1000 });
 * const [node] = await store.nodes.list("m1");
 * console.log(node?.nodeId, node?.live); // web-1 true
 * await store.close();
 * ```
 */
export class Nodes {
  private readonly select: string;

  /** @internal */
  constructor(private readonly driver: Driver) {
    this.select = `SELECT node_id, target, host, pid, version, role, arms, heartbeat_ms, started_at, heartbeat_at, stopped_at, share_bp, state,
      ${driver.types.nowMs} - heartbeat_at AS age_ms FROM nodes`;
  }

  /**
   * Register a node (or register it again after it stopped or went stale).
   * An id held by a live node of another host or pid is a FleetError: two
   * processes must never beat for one node.
   */
  async join(node: NodeJoin): Promise<NodeView> {
    const v = codec.write({ ...node, startedAt: 0, heartbeatAt: 0, stoppedAt: null, shareBp: null, state: {} }, `node_id=${node.nodeId}`);
    const now = this.driver.types.nowMs;
    // One statement: a row is taken over only when it left, went stale, or is this very process's, so two
    // processes joining with one id at the same moment cannot both succeed.
    const changed = await this.driver.run(
      `INSERT INTO nodes (node_id, target, host, pid, version, role, arms, heartbeat_ms, started_at, heartbeat_at, stopped_at, share_bp, state)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ${now}, ${now}, NULL, NULL, ?)
       ON CONFLICT (node_id) DO UPDATE SET target = excluded.target, host = excluded.host, pid = excluded.pid, version = excluded.version,
       role = excluded.role, arms = excluded.arms, heartbeat_ms = excluded.heartbeat_ms, started_at = excluded.started_at,
       heartbeat_at = excluded.heartbeat_at, stopped_at = NULL, share_bp = NULL, state = excluded.state
       WHERE nodes.stopped_at IS NOT NULL OR (nodes.host = excluded.host AND nodes.pid = excluded.pid)
         OR ${now} - nodes.heartbeat_at > ${STALE_BEATS} * nodes.heartbeat_ms`,
      [v.nodeId, v.target, v.host, v.pid, v.version, v.role, JSON.stringify(v.arms), v.heartbeatMs, "{}"],
    );
    const [held] = (await this.driver.all(`${this.select} WHERE node_id = ?`, [v.nodeId])).map(view);
    if (changed === 0 || held === undefined || held.host !== v.host || held.pid !== v.pid) {
      throw new FleetError({ nodeId: v.nodeId, operation: "join", reason: `node id taken by a live node (host ${held?.host}, pid ${held?.pid}, heard from ${held?.ageMs} ms ago)` });
    }
    return held;
  }

  /** Beat for a node; false when the row is gone or now belongs to another process (the node must join again). */
  async beat(nodeId: string, who: { host: string; pid: number }, beat: NodeBeat): Promise<boolean> {
    const changed = await this.driver.run(
      `UPDATE nodes SET heartbeat_at = ${this.driver.types.nowMs}, role = ?, share_bp = ?, state = ? WHERE node_id = ? AND host = ? AND pid = ? AND stopped_at IS NULL`,
      [beat.role, beat.shareBp, JSON.stringify(beat.state), nodeId, who.host, who.pid],
    );
    return changed > 0;
  }

  /** Mark a node stopped (it left on purpose). */
  async leave(nodeId: string, who: { host: string; pid: number }): Promise<void> {
    await this.driver.run(`UPDATE nodes SET stopped_at = ${this.driver.types.nowMs}, role = 'stopped' WHERE node_id = ? AND host = ? AND pid = ?`, [nodeId, who.host, who.pid]);
  }

  /** The nodes of a target (every target's without one), live first, then by id. */
  async list(target?: string): Promise<NodeView[]> {
    const params: SqlValue[] = target === undefined ? [] : [target];
    const rows = await this.driver.all(`${this.select}${target === undefined ? "" : " WHERE target = ?"} ORDER BY node_id`, params);
    return rows.map(view).sort((a, b) => Number(b.live) - Number(a.live));
  }
}

function view(r: SqlRow): NodeView {
  const node = codec.read(r);
  const ageMs = Math.max(0, Number(r.age_ms));
  return { ...node, ageMs, live: node.stoppedAt === null && ageMs <= STALE_BEATS * node.heartbeatMs };
}
