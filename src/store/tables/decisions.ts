/**
 * `decisions`: every decision a rollout took — judged, advanced, held,
 * paused, rolled back, promoted, or an operator's command — with the state
 * and share before and after, why, and the inputs (the monitor's judgement
 * with its rules, thresholds and statistics). What an operator reads to see
 * why a rollout did what it did.
 *
 * @module
 */
import * as Schema from "effect/Schema";
import { jsonColumn, JsonObject, Millis, rowCodec } from "../codec.ts";
import type { Driver, Queryable, SqlRow, SqlValue } from "../driver.ts";

/** A recorded decision. */
export const Decision: Schema.Codec<Decision> = Schema.Struct({
  id: Schema.Int,
  rolloutId: Schema.NonEmptyString,
  at: Millis,
  kind: Schema.NonEmptyString,
  stateFrom: Schema.String,
  stateTo: Schema.String,
  shareFrom: Schema.Int,
  shareTo: Schema.Int,
  reason: Schema.String,
  inputs: JsonObject,
});
/** A recorded decision. */
export type Decision = {
  readonly id: number;
  readonly rolloutId: string;
  readonly at: number;
  /** What happened: "judged", "advanced", "paused", "resumed", "promoted", "rolled_back", "started", … */
  readonly kind: string;
  readonly stateFrom: string;
  readonly stateTo: string;
  readonly shareFrom: number;
  readonly shareTo: number;
  readonly reason: string;
  readonly inputs: JsonObject;
};

const codec = rowCodec(
  "decisions",
  Decision,
  (r) => `id=${r.id}`,
  (r: SqlRow) => ({
    id: r.id,
    rolloutId: r.rollout_id,
    at: r.at,
    kind: r.kind,
    stateFrom: r.state_from,
    stateTo: r.state_to,
    shareFrom: r.share_from,
    shareTo: r.share_to,
    reason: r.reason,
    inputs: jsonColumn(r, "inputs"),
  }),
);

/**
 * The decision log of rollouts.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * const store = await openStore(":memory:");
 * await store.decisions.record({ rolloutId: "r1", at: 1, kind: "advanced", stateFrom: "active.stage", stateTo: "active.stage", shareFrom: 500, shareTo: 1000, reason: "stage 1 passed", inputs: {} });
 * console.log((await store.decisions.list("r1"))[0]?.shareTo); // 1000
 * await store.close();
 * ```
 */
export class Decisions {
  /** @internal */
  constructor(private readonly driver: Driver) {}

  /** Record one decision; resolves with it, numbered. */
  async record(d: Omit<Decision, "id">, q: Queryable = this.driver): Promise<void> {
    const v = codec.write({ ...d, id: 0 }, `rollout_id=${d.rolloutId},at=${d.at}`);
    await q.run(
      `INSERT INTO decisions (rollout_id, at, kind, state_from, state_to, share_from, share_to, reason, inputs)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [v.rolloutId, v.at, v.kind, v.stateFrom, v.stateTo, v.shareFrom, v.shareTo, v.reason, JSON.stringify(v.inputs)],
    );
  }

  /** A rollout's decisions, oldest first; only `kinds` when given; after decision `afterId`. */
  async list(rolloutId: string, filter: { kinds?: readonly string[]; afterId?: number } = {}): Promise<Decision[]> {
    const params: SqlValue[] = [rolloutId, filter.afterId ?? 0];
    let sql = "SELECT id, rollout_id, at, kind, state_from, state_to, share_from, share_to, reason, inputs FROM decisions WHERE rollout_id = ? AND id > ?";
    if (filter.kinds !== undefined && filter.kinds.length > 0) {
      sql += ` AND kind IN (${filter.kinds.map(() => "?").join(", ")})`;
      params.push(...filter.kinds);
    }
    return (await this.driver.all(`${sql} ORDER BY id`, params)).map((r) => codec.read(r));
  }
}
