/**
 * `flags` and `flag_changes`: the stored value of each feature flag, every
 * change with who made it and why, and a watch that tells every holder of
 * the store when a flag changed (PostgreSQL: LISTEN/NOTIFY; SQLite: polling).
 * The typed flag set with its defaults builds on this table.
 *
 * @module
 */
import * as Schema from "effect/Schema";
import { jsonColumn, Millis, rowCodec } from "../codec.ts";
import type { Fence } from "../fence.ts";
import type { Driver, Queryable, SqlRow, SqlValue } from "../driver.ts";

/** A flag's stored value. */
export const FlagRecord: Schema.Codec<FlagRecord> = Schema.Struct({
  key: Schema.NonEmptyString,
  value: Schema.Json,
  updatedAt: Millis,
  updatedBy: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String),
});
/** A flag's stored value. */
export type FlagRecord = {
  readonly key: string;
  readonly value: Schema.Json;
  readonly updatedAt: number;
  readonly updatedBy: string | null;
  readonly reason: string | null;
};

/** One change of a flag. */
export const FlagChange: Schema.Codec<FlagChange> = Schema.Struct({
  id: Schema.Int,
  key: Schema.NonEmptyString,
  oldValue: Schema.NullOr(Schema.Json),
  newValue: Schema.Json,
  changedBy: Schema.NullOr(Schema.String),
  reason: Schema.NullOr(Schema.String),
  at: Millis,
});
/** One change of a flag. */
export type FlagChange = {
  readonly id: number;
  readonly key: string;
  /** The value before, or null if the flag was never stored. */
  readonly oldValue: Schema.Json | null;
  readonly newValue: Schema.Json;
  readonly changedBy: string | null;
  readonly reason: string | null;
  readonly at: number;
};

const codec = rowCodec(
  "flags",
  FlagRecord,
  (r) => `key=${r.key}`,
  (r: SqlRow) => ({ key: r.key, value: jsonColumn(r, "value"), updatedAt: r.updated_at, updatedBy: r.updated_by, reason: r.reason }),
);

const changeCodec = rowCodec(
  "flag_changes",
  FlagChange,
  (r) => `id=${r.id}`,
  (r: SqlRow) => ({
    id: r.id,
    key: r.key,
    oldValue: r.old_value === null ? null : jsonColumn(r, "old_value"),
    newValue: jsonColumn(r, "new_value"),
    changedBy: r.changed_by,
    reason: r.reason,
    at: r.at,
  }),
);

const SELECT = "SELECT key, value, updated_at, updated_by, reason FROM flags";

/** The notification channel of flag changes (PostgreSQL). */
const FLAGS_CHANNEL = "molt_flags";

/** Who changed a flag and why. */
export interface ChangeMeta {
  /** Default: null. */
  readonly by?: string;
  /** Default: null. */
  readonly reason?: string;
  /** Write only while this lease term holds (a fleet leader's writes); refused with a FencedError after. Default: unfenced. */
  readonly fence?: Fence;
}

/** A running watch; `close` stops it. */
export interface FlagWatch {
  close(): Promise<void>;
}

/**
 * Stored flag values and their history.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * const store = await openStore(":memory:");
 * await store.flags.set("pool_v2_enabled", true, { by: "ops", reason: "canary" });
 * console.log((await store.flags.get("pool_v2_enabled"))?.value, (await store.flags.changes())[0]?.reason); // true canary
 * await store.close();
 * ```
 */
export class Flags {
  /** @internal */
  constructor(private readonly driver: Driver, private readonly now: () => number) {}

  /**
   * Insert or replace a flag's value and record the change, in one
   * transaction; every watcher of the store hears of it once it commits.
   */
  async set(key: string, value: unknown, meta: ChangeMeta = {}): Promise<FlagRecord> {
    return await this.driver.transaction(async (q) => {
      await meta.fence?.check(q);
      return await this.write(q, key, value, meta);
    });
  }

  /**
   * @internal Make the stored flags exactly `records` inside the caller's
   * transaction `q` (a backup being restored): each flag that differs is
   * written, each one not in `records` removed, and every change recorded
   * and announced like a `set`. Resolves with the keys that changed.
   */
  async replaceAll(q: Queryable, records: readonly FlagRecord[], meta: ChangeMeta): Promise<string[]> {
    const current = new Map((await q.all(SELECT)).map((r) => codec.read(r)).map((f) => [f.key, JSON.stringify(f.value)]));
    const changed: string[] = [];
    for (const r of records) {
      if (current.get(r.key) === JSON.stringify(r.value)) continue;
      await this.write(q, r.key, r.value, meta);
      changed.push(r.key);
    }
    const kept = new Set(records.map((r) => r.key));
    for (const [key, old] of current) {
      if (kept.has(key)) continue;
      await q.run("DELETE FROM flags WHERE key = ?", [key]);
      // The change reads as the value going back to unset: JSON null.
      await q.run("INSERT INTO flag_changes (key, old_value, new_value, changed_by, reason, at) VALUES (?, ?, ?, ?, ?, ?)", [
        key, old, "null", meta.by ?? null, meta.reason ?? null, this.now(),
      ]);
      await this.driver.notify(q, FLAGS_CHANNEL, key);
      changed.push(key);
    }
    return changed;
  }

  private async write(q: Queryable, key: string, value: unknown, meta: ChangeMeta): Promise<FlagRecord> {
    const v = codec.write({ key, value, updatedAt: this.now(), updatedBy: meta.by ?? null, reason: meta.reason ?? null }, `key=${key}`);
    const before = await q.all(`${SELECT} WHERE key = ?`, [key]);
    const old = before.length === 0 ? null : JSON.stringify(codec.read(before[0]!).value);
    await q.run(
      `INSERT INTO flags (key, value, updated_at, updated_by, reason) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at,
       updated_by = excluded.updated_by, reason = excluded.reason`,
      [v.key, JSON.stringify(v.value), v.updatedAt, v.updatedBy, v.reason],
    );
    await q.run("INSERT INTO flag_changes (key, old_value, new_value, changed_by, reason, at) VALUES (?, ?, ?, ?, ?, ?)", [
      v.key, old, JSON.stringify(v.value), v.updatedBy, v.reason, v.updatedAt,
    ]);
    await this.driver.notify(q, FLAGS_CHANNEL, v.key);
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

  /** Changes, oldest first: of one flag with `key`, after change `afterId`. */
  async changes(filter: { key?: string; afterId?: number } = {}): Promise<FlagChange[]> {
    const params: SqlValue[] = [filter.afterId ?? 0];
    let sql = "SELECT id, key, old_value, new_value, changed_by, reason, at FROM flag_changes WHERE id > ?";
    if (filter.key !== undefined) (sql += " AND key = ?", params.push(filter.key));
    return (await this.driver.all(`${sql} ORDER BY id`, params)).map((r) => changeCodec.read(r));
  }

  /** The id of the newest change, 0 if there is none. */
  async lastChangeId(): Promise<number> {
    const rows = await this.driver.all("SELECT MAX(id) AS id FROM flag_changes");
    return Number(rows[0]?.id ?? 0);
  }

  /**
   * Call `onChange` whenever any holder of this store changes a flag:
   * pushed by LISTEN/NOTIFY on PostgreSQL, found by polling the change log
   * every `pollMs` on SQLite. A failed poll goes to `onError` and polling
   * goes on.
   */
  async watch(onChange: () => void, options: { pollMs: number; onError: (error: unknown) => void }): Promise<FlagWatch> {
    const unlisten = await this.driver.listen(FLAGS_CHANNEL, () => onChange());
    if (unlisten !== null) return { close: unlisten };
    let seen = await this.lastChangeId();
    let polling = false;
    const timer = setInterval(() => {
      if (polling) return;
      polling = true;
      this.lastChangeId().then(
        (id) => {
          polling = false;
          if (id !== seen) (seen = id, onChange());
        },
        (e) => {
          polling = false;
          options.onError(e);
        },
      );
    }, options.pollMs);
    return {
      close: () => {
        clearInterval(timer);
        return Promise.resolve();
      },
    };
  }
}
