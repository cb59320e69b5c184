/**
 * `pool_configurations`: every version of every pool's configuration, and
 * which one is active.
 *
 * @module
 */
import * as Schema from "effect/Schema";
import { boolColumn, jsonColumn, JsonObject, Millis, rowCodec } from "../codec.ts";
import type { Driver, Queryable, SqlRow } from "../driver.ts";

/** One version of a pool's configuration. */
export const PoolConfiguration: Schema.Codec<PoolConfiguration> = Schema.Struct({
  name: Schema.NonEmptyString,
  version: Schema.Int.check(Schema.isGreaterThan(0)),
  config: JsonObject,
  active: Schema.Boolean,
  createdAt: Millis,
  updatedAt: Millis,
});
/** One version of a pool's configuration. */
export type PoolConfiguration = {
  readonly name: string;
  readonly version: number;
  readonly config: JsonObject;
  readonly active: boolean;
  readonly createdAt: number;
  readonly updatedAt: number;
};

const codec = rowCodec(
  "pool_configurations",
  PoolConfiguration,
  (r) => `name=${r.name},version=${r.version}`,
  (r: SqlRow) => ({
    name: r.name,
    version: r.version,
    config: jsonColumn(r, "config"),
    active: boolColumn(r.active),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  }),
);

const COLUMNS = "name, version, config, active, created_at, updated_at";

/**
 * Versions of pool configurations.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * const store = await openStore(":memory:");
 * await store.poolConfigurations.save({ name: "v2", version: 1, config: { size: 4 } });
 * await store.poolConfigurations.activate("v2", 1);
 * console.log((await store.poolConfigurations.active("v2"))?.config); // { size: 4 }
 * await store.close();
 * ```
 */
export class PoolConfigurations {
  /** @internal */
  constructor(private readonly driver: Driver, private readonly now: () => number) {}

  /** Store a new version (inactive unless `active: true`); a version that exists is a StoreError "conflict". */
  async save(entry: { name: string; version: number; config: Readonly<Record<string, unknown>>; active?: boolean }): Promise<PoolConfiguration> {
    const at = this.now();
    const value = codec.write({ ...entry, active: entry.active ?? false, createdAt: at, updatedAt: at }, `name=${entry.name},version=${entry.version}`);
    await this.driver.run(`INSERT INTO pool_configurations (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`, [
      value.name, value.version, JSON.stringify(value.config), value.active, value.createdAt, value.updatedAt,
    ]);
    return value;
  }

  /** @internal Make the stored configurations exactly `records`, inside the caller's transaction `q`. */
  async replaceAll(q: Queryable, records: readonly PoolConfiguration[]): Promise<void> {
    await q.run("DELETE FROM pool_configurations");
    for (const r of records) {
      await q.run(`INSERT INTO pool_configurations (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)`, [r.name, r.version, JSON.stringify(r.config), r.active, r.createdAt, r.updatedAt]);
    }
  }

  /** One version, or undefined. */
  async get(name: string, version: number): Promise<PoolConfiguration | undefined> {
    const rows = await this.driver.all(`SELECT ${COLUMNS} FROM pool_configurations WHERE name = ? AND version = ?`, [name, version]);
    return rows.length === 0 ? undefined : codec.read(rows[0]!);
  }

  /** The active version of a pool, or undefined. */
  async active(name: string): Promise<PoolConfiguration | undefined> {
    const rows = await this.driver.all(`SELECT ${COLUMNS} FROM pool_configurations WHERE name = ? AND active = ? ORDER BY version DESC`, [name, true]);
    return rows.length === 0 ? undefined : codec.read(rows[0]!);
  }

  /** Every version, by name then version; only one pool's with `name`. */
  async list(name?: string): Promise<PoolConfiguration[]> {
    const rows = name === undefined
      ? await this.driver.all(`SELECT ${COLUMNS} FROM pool_configurations ORDER BY name, version`)
      : await this.driver.all(`SELECT ${COLUMNS} FROM pool_configurations WHERE name = ? ORDER BY version`, [name]);
    return rows.map((r) => codec.read(r));
  }

  /** Make `version` the pool's only active one; resolves false if that version does not exist. */
  activate(name: string, version: number): Promise<boolean> {
    return this.driver.transaction(async (q) => {
      const at = this.now();
      const found = await q.run("UPDATE pool_configurations SET active = ?, updated_at = ? WHERE name = ? AND version = ?", [true, at, name, version]);
      if (found === 0) return false;
      await q.run("UPDATE pool_configurations SET active = ?, updated_at = ? WHERE name = ? AND version <> ? AND active = ?", [false, at, name, version, true]);
      return true;
    });
  }

  /** Mark every version of a pool inactive (a decommissioned pool); resolves with how many were active. */
  deactivate(name: string): Promise<number> {
    return this.driver.run("UPDATE pool_configurations SET active = ?, updated_at = ? WHERE name = ? AND active = ?", [false, this.now(), name, true]);
  }
}
