/**
 * `flags`: the stored value of each feature flag and who set it last. The
 * typed flag set with its defaults and change feed builds on this table.
 *
 * @module
 */
import { Schema } from "effect";
import { jsonColumn, Millis, rowCodec } from "../codec.ts";
import type { Driver, SqlRow } from "../driver.ts";

/** A flag's stored value. */
export const FlagRecord = Schema.Struct({
  key: Schema.NonEmptyString,
  value: Schema.Json,
  updatedAt: Millis,
  updatedBy: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String),
});
/** A flag's stored value. */
export type FlagRecord = typeof FlagRecord.Type;

const codec = rowCodec(
  "flags",
  FlagRecord,
  (r) => `key=${r.key}`,
  (r: SqlRow) => ({ key: r.key, value: jsonColumn(r, "value"), updatedAt: r.updated_at, updatedBy: r.updated_by, reason: r.reason }),
);

const SELECT = "SELECT key, value, updated_at, updated_by, reason FROM flags";

/**
 * Stored flag values.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * const store = await openStore(":memory:");
 * await store.flags.set("pool_v2_enabled", true, { by: "ops", reason: "canary" });
 * console.log((await store.flags.get("pool_v2_enabled"))?.value); // true
 * await store.close();
 * ```
 */
export class Flags {
  /** @internal */
  constructor(private readonly driver: Driver, private readonly now: () => number) {}

  /** Insert or replace a flag's value. */
  async set(key: string, value: unknown, by: { by?: string; reason?: string } = {}): Promise<FlagRecord> {
    const v = codec.write({ key, value, updatedAt: this.now(), updatedBy: by.by ?? null, reason: by.reason ?? null }, `key=${key}`);
    await this.driver.run(
      `INSERT INTO flags (key, value, updated_at, updated_by, reason) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
       updated_by = excluded.updated_by, reason = excluded.reason`,
      [v.key, JSON.stringify(v.value), v.updatedAt, v.updatedBy, v.reason],
    );
    return v;
  }

  /** One flag, or undefined if it was never set. */
  async get(key: string): Promise<FlagRecord | undefined> {
    const rows = await this.driver.all(`${SELECT} WHERE key = ?`, [key]);
    return rows.length === 0 ? undefined : codec.read(rows[0]!);
  }

  /** Every stored flag, by key. */
  async list(): Promise<FlagRecord[]> {
    return (await this.driver.all(`${SELECT} ORDER BY key`)).map((r) => codec.read(r));
  }
}
