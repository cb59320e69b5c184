/**
 * `journal`: every event sent to a persisted actor, numbered from 1 without
 * gaps, written before the actor applies it.
 *
 * @module
 */
import * as Schema from "effect/Schema";
import { jsonColumn, Millis, rowCodec } from "../codec.ts";
import type { Driver, Queryable, SqlRow, SqlValue } from "../driver.ts";

/** A journaled event: a JSON object with a `type`. */
export const JournalEvent: Schema.Codec<JournalEvent> = Schema.StructWithRest(Schema.Struct({ type: Schema.NonEmptyString }), [Schema.Record(Schema.String, Schema.Json)]);
/** A journaled event: a JSON object with a `type`. */
export type JournalEvent = {
  readonly type: string;
  readonly [key: string]: Schema.Json;
};

/** One journal entry. */
export const JournalEntry: Schema.Codec<JournalEntry> = Schema.Struct({
  actorId: Schema.NonEmptyString,
  seq: Schema.Int.check(Schema.isGreaterThan(0)),
  event: JournalEvent,
  at: Millis,
});
/** One journal entry. */
export type JournalEntry = {
  readonly actorId: string;
  readonly seq: number;
  readonly event: JournalEvent;
  readonly at: number;
};

const codec = rowCodec(
  "journal",
  JournalEntry,
  (r) => `actor_id=${r.actor_id},seq=${r.seq}`,
  (r: SqlRow) => ({ actorId: r.actor_id, seq: r.seq, event: jsonColumn(r, "event"), at: r.at }),
);

/** Which entries `read` returns. */
export interface JournalRange {
  /** Only entries after this sequence number. Default: 0 (from the first). */
  readonly afterSeq?: number;
  /** Only entries up to and including this one. Default: the last. */
  readonly untilSeq?: number;
}

/**
 * The event journal of persisted actors.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * const store = await openStore(":memory:");
 * await store.journal.append({ actorId: "a", seq: 1, event: { type: "stage.advanced", now: 5 }, at: 5 });
 * console.log(await store.journal.lastSeq("a"), (await store.journal.read("a"))[0]?.event.type); // 1 stage.advanced
 * await store.close();
 * ```
 */
export class Journal {
  /** @internal */
  constructor(private readonly driver: Driver) {}

  /** Append one entry; a sequence number already taken is a StoreError "conflict" (a second writer). */
  async append(entry: JournalEntry): Promise<void> {
    const v = codec.write(entry, `actor_id=${entry.actorId},seq=${entry.seq}`);
    await this.driver.run("INSERT INTO journal (actor_id, seq, event, at) VALUES (?, ?, ?, ?)", [v.actorId, v.seq, JSON.stringify(v.event), v.at]);
  }

  /** An actor's entries in sequence order. */
  async read(actorId: string, range: JournalRange = {}): Promise<JournalEntry[]> {
    const params: SqlValue[] = [actorId, range.afterSeq ?? 0];
    let sql = "SELECT actor_id, seq, event, at FROM journal WHERE actor_id = ? AND seq > ?";
    if (range.untilSeq !== undefined) (sql += " AND seq <= ?", params.push(range.untilSeq));
    return (await this.driver.all(`${sql} ORDER BY seq`, params)).map((r) => codec.read(r));
  }

  /** The highest sequence number of an actor, 0 if it has none. */
  async lastSeq(actorId: string): Promise<number> {
    const rows = await this.driver.all("SELECT MAX(seq) AS seq FROM journal WHERE actor_id = ?", [actorId]);
    return Number(rows[0]?.seq ?? 0);
  }

  /** Every actor with a journal, by id. */
  async actors(q: Queryable = this.driver): Promise<string[]> {
    return (await q.all("SELECT DISTINCT actor_id FROM journal ORDER BY actor_id")).map((r) => String(r.actor_id));
  }

  /** @internal Forget an actor's entries after `seq`, inside the caller's transaction `q`; resolves with how many. */
  rewind(q: Queryable, actorId: string, seq: number): Promise<number> {
    return q.run("DELETE FROM journal WHERE actor_id = ? AND seq > ?", [actorId, seq]);
  }

  /**
   * Delete an actor's entries up to and including `throughSeq`; resolves
   * with how many. Restore still works from a snapshot at or after
   * `throughSeq`, but replay cannot go back before it.
   */
  truncate(actorId: string, throughSeq: number): Promise<number> {
    return this.driver.run("DELETE FROM journal WHERE actor_id = ? AND seq <= ?", [actorId, throughSeq]);
  }
}
