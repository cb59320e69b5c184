/**
 * `programs`: program definitions, kept on the host so any pool can run
 * them; workers only cache them by id and content hash.
 *
 * @module
 */
import { createHash } from "node:crypto";
import * as Schema from "effect/Schema";
import { jsonColumn, JsonObject, Millis, rowCodec } from "../codec.ts";
import type { Driver, Queryable, SqlRow } from "../driver.ts";

/** A stored program. */
export const ProgramRecord: Schema.Codec<ProgramRecord> = Schema.Struct({
  id: Schema.NonEmptyString,
  definition: JsonObject,
  contentHash: Schema.NonEmptyString,
  createdAt: Millis,
  updatedAt: Millis,
});
/** A stored program. */
export type ProgramRecord = {
  readonly id: string;
  readonly definition: JsonObject;
  readonly contentHash: string;
  readonly createdAt: number;
  readonly updatedAt: number;
};

const codec = rowCodec(
  "programs",
  ProgramRecord,
  (r) => `id=${r.id}`,
  (r: SqlRow) => ({ id: r.id, definition: jsonColumn(r, "definition"), contentHash: r.content_hash, createdAt: r.created_at, updatedAt: r.updated_at }),
);

const SELECT = "SELECT id, definition, content_hash, created_at, updated_at FROM programs";

/** JSON with object keys sorted, so equal definitions hash equally. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.keys(value).sort().map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * Stored programs.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * const store = await openStore(":memory:");
 * const p = await store.programs.put("qa", { signature: "question -> answer" });
 * console.log(p.contentHash.length, (await store.programs.list()).length); // 64 1
 * await store.close();
 * ```
 */
export class Programs {
  /** @internal */
  constructor(private readonly driver: Driver, private readonly now: () => number) {}

  /** Create or replace a program; its content hash is the SHA-256 of its canonical JSON. */
  async put(id: string, definition: Readonly<Record<string, unknown>>): Promise<ProgramRecord> {
    const at = this.now();
    const contentHash = createHash("sha256").update(canonical(definition)).digest("hex");
    const v = codec.write({ id, definition, contentHash, createdAt: at, updatedAt: at }, `id=${id}`);
    await this.driver.run(
      `INSERT INTO programs (id, definition, content_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET definition = excluded.definition, content_hash = excluded.content_hash, updated_at = excluded.updated_at`,
      [v.id, JSON.stringify(v.definition), v.contentHash, v.createdAt, v.updatedAt],
    );
    return (await this.get(id))!;
  }

  /** @internal Make the stored programs exactly `records`, as they were (hashes and times), inside the caller's transaction `q`. */
  async replaceAll(q: Queryable, records: readonly ProgramRecord[]): Promise<void> {
    await q.run("DELETE FROM programs");
    for (const r of records) {
      await q.run("INSERT INTO programs (id, definition, content_hash, created_at, updated_at) VALUES (?, ?, ?, ?, ?)", [
        r.id, JSON.stringify(r.definition), r.contentHash, r.createdAt, r.updatedAt,
      ]);
    }
  }

  /** One program, or undefined. */
  async get(id: string): Promise<ProgramRecord | undefined> {
    const rows = await this.driver.all(`${SELECT} WHERE id = ?`, [id]);
    return rows.length === 0 ? undefined : codec.read(rows[0]!);
  }

  /** Every program, by id. */
  async list(): Promise<ProgramRecord[]> {
    return (await this.driver.all(`${SELECT} ORDER BY id`)).map((r) => codec.read(r));
  }

  /** Delete a program; resolves false if there was none. */
  async delete(id: string): Promise<boolean> {
    return (await this.driver.run("DELETE FROM programs WHERE id = ?", [id])) > 0;
  }
}
