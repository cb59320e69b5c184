/**
 * `machine_snapshots`: persisted XState snapshots of an actor, each tagged
 * with the machine and machine version that wrote it and the journal
 * sequence number it includes.
 *
 * @module
 */
import * as Schema from "effect/Schema";
import { jsonColumn, Millis, rowCodec } from "../codec.ts";
import type { Driver, Queryable, SqlRow, SqlValue } from "../driver.ts";

/** A stored snapshot. */
export const SnapshotRecord: Schema.Codec<SnapshotRecord> = Schema.Struct({
  actorId: Schema.NonEmptyString,
  seq: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  machine: Schema.NonEmptyString,
  machineVersion: Schema.NonEmptyString,
  snapshot: Schema.Json,
  at: Millis,
});
/** A stored snapshot. */
export type SnapshotRecord = {
  readonly actorId: string;
  /** The last journal entry applied to it; 0 for the initial snapshot. */
  readonly seq: number;
  readonly machine: string;
  readonly machineVersion: string;
  readonly snapshot: Schema.Json;
  readonly at: number;
};

const codec = rowCodec(
  "machine_snapshots",
  SnapshotRecord,
  (r) => `actor_id=${r.actor_id},seq=${r.seq}`,
  (r: SqlRow) => ({
    actorId: r.actor_id,
    seq: r.seq,
    machine: r.machine,
    machineVersion: r.machine_version,
    snapshot: jsonColumn(r, "snapshot"),
    at: r.at,
  }),
);

const SELECT = "SELECT actor_id, seq, machine, machine_version, snapshot, at FROM machine_snapshots";

/**
 * Persisted snapshots of actors.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * const store = await openStore(":memory:");
 * await store.snapshots.save({ actorId: "a", seq: 0, machine: "m", machineVersion: "1", snapshot: { value: "idle" }, at: 1 });
 * console.log((await store.snapshots.latest("a"))?.snapshot); // { value: "idle" }
 * await store.close();
 * ```
 */
export class Snapshots {
  /** @internal */
  constructor(private readonly driver: Driver) {}

  /** Store a snapshot (replacing one at the same sequence number). */
  async save(record: SnapshotRecord, q: Queryable = this.driver): Promise<void> {
    const v = codec.write(record, `actor_id=${record.actorId},seq=${record.seq}`);
    await q.run(
      `INSERT INTO machine_snapshots (actor_id, seq, machine, machine_version, snapshot, at) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (actor_id, seq) DO UPDATE SET machine = excluded.machine, machine_version = excluded.machine_version,
       snapshot = excluded.snapshot, at = excluded.at`,
      [v.actorId, v.seq, v.machine, v.machineVersion, JSON.stringify(v.snapshot), v.at],
    );
  }

  /** @internal Make an actor's snapshots exactly `records`, inside the caller's transaction `q`. */
  async replaceFor(q: Queryable, actorId: string, records: readonly SnapshotRecord[]): Promise<void> {
    await q.run("DELETE FROM machine_snapshots WHERE actor_id = ?", [actorId]);
    for (const r of records) await this.save(r, q);
  }

  /** Every actor with a snapshot, by id. */
  async actors(q: Queryable = this.driver): Promise<string[]> {
    return (await q.all("SELECT DISTINCT actor_id FROM machine_snapshots ORDER BY actor_id")).map((r) => String(r.actor_id));
  }

  /** The newest snapshot, or the newest at or before `atOrBeforeSeq`; undefined if none. */
  async latest(actorId: string, atOrBeforeSeq?: number): Promise<SnapshotRecord | undefined> {
    const params: SqlValue[] = [actorId];
    let sql = `${SELECT} WHERE actor_id = ?`;
    if (atOrBeforeSeq !== undefined) (sql += " AND seq <= ?", params.push(atOrBeforeSeq));
    const rows = await this.driver.all(`${sql} ORDER BY seq DESC LIMIT 1`, params);
    return rows.length === 0 ? undefined : codec.read(rows[0]!);
  }

  /** Every snapshot of an actor, oldest first. */
  async list(actorId: string): Promise<SnapshotRecord[]> {
    return (await this.driver.all(`${SELECT} WHERE actor_id = ? ORDER BY seq`, [actorId])).map((r) => codec.read(r));
  }

  /** Delete an actor's snapshots older than `beforeSeq`; resolves with how many. */
  prune(actorId: string, beforeSeq: number): Promise<number> {
    return this.driver.run("DELETE FROM machine_snapshots WHERE actor_id = ? AND seq < ?", [actorId, beforeSeq]);
  }
}
