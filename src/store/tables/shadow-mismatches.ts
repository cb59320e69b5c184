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
  }),
);

/**
 * Recorded shadow mismatches.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * const store = await openStore(":memory:");
 * await store.shadowMismatches.record({ command: "echo", servingArm: "v1", shadowArm: "v2", serving: 1, shadow: 2, at: 5 });
 * console.log((await store.shadowMismatches.list({ command: "echo" }))[0]?.shadow); // 2
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
      "INSERT INTO shadow_mismatches (command, serving_arm, shadow_arm, serving, shadow, at) VALUES (?, ?, ?, ?, ?, ?)",
      [v.command, v.servingArm, v.shadowArm, JSON.stringify(v.serving), JSON.stringify(v.shadow), v.at],
    );
  }

  /** Mismatches, newest first; of one command with `command`; at most `limit` (default 100). */
  async list(filter: { command?: string; limit?: number } = {}): Promise<ShadowMismatch[]> {
    const params: SqlValue[] = [];
    let sql = "SELECT id, command, serving_arm, shadow_arm, serving, shadow, at FROM shadow_mismatches";
    if (filter.command !== undefined) (sql += " WHERE command = ?", params.push(filter.command));
    params.push(filter.limit ?? 100);
    return (await this.driver.all(`${sql} ORDER BY at DESC, id DESC LIMIT ?`, params)).map((r) => codec.read(r));
  }
}
