/**
 * `shadow_mismatches`: calls whose shadow answer differed from the serving
 * arm's, both values kept (trimmed) for an operator to read.
 *
 * @module
 */
import * as Schema from "effect/Schema";
import { jsonColumn, Millis, rowCodec } from "../codec.ts";
import type { Driver, SqlRow, SqlValue } from "../driver.ts";

/** A recorded mismatch. */
export const ShadowMismatch: Schema.Codec<ShadowMismatch> = Schema.Struct({
  command: Schema.NonEmptyString,
  servingArm: Schema.NonEmptyString,
  shadowArm: Schema.NonEmptyString,
  serving: Schema.Json,
  shadow: Schema.Json,
  at: Millis,
  rolloutId: Schema.optional(Schema.NullOr(Schema.NonEmptyString)),
});
/** A recorded mismatch. */
export type ShadowMismatch = {
  readonly command: string;
  readonly servingArm: string;
  readonly shadowArm: string;
  /** What the caller received (trimmed), or its error. */
  readonly serving: Schema.Json;
  /** What the shadow answered (trimmed), or its error. */
  readonly shadow: Schema.Json;
  readonly at: number;
  /** The rollout (migration) whose router recorded it; null or absent for a router that serves none. */
  readonly rolloutId?: string | null | undefined;
};

const codec = rowCodec(
  "shadow_mismatches",
  ShadowMismatch,
  (r) => `id=${r.id}`,
  (r: SqlRow) => ({
    command: r.command,
    servingArm: r.serving_arm,
    shadowArm: r.shadow_arm,
    serving: jsonColumn(r, "serving"),
    shadow: jsonColumn(r, "shadow"),
    at: r.at,
    rolloutId: r.rollout_id,
  }),
);

/**
 * Recorded shadow mismatches.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * const store = await openStore(":memory:");
 * await store.shadowMismatches.record({ command: "echo", servingArm: "v1", shadowArm: "v2", serving: 1, shadow: 2, at: 5, rolloutId: "summarizer-v2" });
 * console.log((await store.shadowMismatches.list({ rolloutId: "summarizer-v2" }))[0]?.shadow); // 2
 * console.log(await store.shadowMismatches.list({ rolloutId: "another" })); // []
 * await store.close();
 * ```
 */
export class ShadowMismatches {
  /** @internal */
  constructor(private readonly driver: Driver) {}

  /** Record one mismatch. */
  async record(m: ShadowMismatch): Promise<void> {
    const v = codec.write(m, `command=${m.command},at=${m.at}`);
    await this.driver.run(
      "INSERT INTO shadow_mismatches (command, serving_arm, shadow_arm, serving, shadow, at, rollout_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
      [v.command, v.servingArm, v.shadowArm, JSON.stringify(v.serving), JSON.stringify(v.shadow), v.at, v.rolloutId ?? null],
    );
  }

  /** Mismatches, newest first; of one rollout with `rolloutId`, of one command with `command`; at most `limit` (default 100). */
  async list(filter: { rolloutId?: string; command?: string; limit?: number } = {}): Promise<ShadowMismatch[]> {
    const params: SqlValue[] = [];
    const where: string[] = [];
    if (filter.rolloutId !== undefined) (where.push("rollout_id = ?"), params.push(filter.rolloutId));
    if (filter.command !== undefined) (where.push("command = ?"), params.push(filter.command));
    params.push(filter.limit ?? 100);
    const sql = `SELECT id, command, serving_arm, shadow_arm, serving, shadow, at, rollout_id FROM shadow_mismatches${where.length === 0 ? "" : ` WHERE ${where.join(" AND ")}`}`;
    return (await this.driver.all(`${sql} ORDER BY at DESC, id DESC LIMIT ?`, params)).map((r) => codec.read(r));
  }
}
