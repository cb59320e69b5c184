/**
 * `pool_metrics`: each node's metric windows per pool, over time.
 *
 * @module
 */
import * as Schema from "effect/Schema";
import { jsonColumn, JsonObject, Millis, rowCodec } from "../codec.ts";
import type { Driver, SqlRow, SqlValue } from "../driver.ts";

/** One node's metrics for one pool at one time. */
export const PoolMetricsEntry: Schema.Codec<PoolMetricsEntry> = Schema.Struct({
  poolName: Schema.NonEmptyString,
  nodeId: Schema.NonEmptyString,
  timestamp: Millis,
  metrics: JsonObject,
});
/** One node's metrics for one pool at one time. */
export type PoolMetricsEntry = {
  readonly poolName: string;
  readonly nodeId: string;
  readonly timestamp: number;
  readonly metrics: JsonObject;
};

const codec = rowCodec(
  "pool_metrics",
  PoolMetricsEntry,
  (r) => `id=${r.id}`,
  (r: SqlRow) => ({ poolName: r.pool_name, nodeId: r.node_id, timestamp: r.timestamp, metrics: jsonColumn(r, "metrics") }),
);

/** Which rows `range` reads. */
export interface MetricsRange {
  /** Inclusive lower bound, epoch ms. Default: the beginning. */
  readonly from?: number;
  /** Exclusive upper bound, epoch ms. Default: no bound. */
  readonly to?: number;
  /** Only this node's rows. Default: every node's. */
  readonly nodeId?: string;
}

/**
 * Metric windows written by every node.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * const store = await openStore(":memory:");
 * await store.poolMetrics.record({ poolName: "v2", nodeId: "n1", timestamp: 1000, metrics: { calls: 10 } });
 * console.log((await store.poolMetrics.range("v2", { from: 0 })).length); // 1
 * await store.close();
 * ```
 */
export class PoolMetrics {
  /** @internal */
  constructor(private readonly driver: Driver) {}

  /**
   * Append one entry. A node has one entry per pool and timestamp: writing
   * it again (a retry whose answer was lost) changes nothing.
   */
  async record(entry: PoolMetricsEntry): Promise<void> {
    const v = codec.write(entry, `pool=${entry.poolName},node=${entry.nodeId},timestamp=${entry.timestamp}`);
    await this.driver.run("INSERT INTO pool_metrics (pool_name, node_id, timestamp, metrics) VALUES (?, ?, ?, ?) ON CONFLICT (pool_name, node_id, timestamp) DO NOTHING", [
      v.poolName, v.nodeId, v.timestamp, JSON.stringify(v.metrics),
    ]);
  }

  /** A pool's entries in a time range, oldest first. */
  async range(poolName: string, range: MetricsRange = {}): Promise<PoolMetricsEntry[]> {
    const where = ["pool_name = ?", "timestamp >= ?"];
    const params: SqlValue[] = [poolName, range.from ?? 0];
    if (range.to !== undefined) (where.push("timestamp < ?"), params.push(range.to));
    if (range.nodeId !== undefined) (where.push("node_id = ?"), params.push(range.nodeId));
    const rows = await this.driver.all(
      `SELECT id, pool_name, node_id, timestamp, metrics FROM pool_metrics WHERE ${where.join(" AND ")} ORDER BY timestamp, id`,
      params,
    );
    return rows.map((r) => codec.read(r));
  }

  /** The newest entry of each pool and node: what a backup keeps as a summary. */
  async latest(): Promise<PoolMetricsEntry[]> {
    const rows = await this.driver.all(
      `SELECT id, pool_name, node_id, timestamp, metrics FROM pool_metrics m
       WHERE id = (SELECT id FROM pool_metrics l WHERE l.pool_name = m.pool_name AND l.node_id = m.node_id ORDER BY timestamp DESC, id DESC LIMIT 1)
       ORDER BY pool_name, node_id`,
    );
    return rows.map((r) => codec.read(r));
  }

  /** Delete entries older than `before` (epoch ms); resolves with how many. */
  prune(before: number): Promise<number> {
    return this.driver.run("DELETE FROM pool_metrics WHERE timestamp < ?", [before]);
  }
}
