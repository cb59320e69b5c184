/**
 * `commands`: operator commands written by the `molt` CLI (or anything
 * else) for a running migration to apply, and the result it wrote back.
 *
 * @module
 */
import * as Schema from "effect/Schema";
import { jsonColumn, JsonObject, Millis, rowCodec } from "../codec.ts";
import type { Driver, SqlRow } from "../driver.ts";

/** A command's progress: "claimed" by a fleet's leader, which applies it next. */
export const CommandStatus: Schema.Codec<CommandStatus> = Schema.Literals(["pending", "claimed", "applied", "failed"]);
/** A command's progress. */
export type CommandStatus = "pending" | "claimed" | "applied" | "failed";

/** A queued operator command. */
export const OperatorCommand: Schema.Codec<OperatorCommand> = Schema.Struct({
  id: Schema.Int,
  target: Schema.NonEmptyString,
  command: Schema.NonEmptyString,
  args: JsonObject,
  requestedBy: Schema.NullOr(Schema.String),
  requestedAt: Millis,
  status: CommandStatus,
  appliedAt: Schema.NullOr(Millis),
  result: Schema.NullOr(JsonObject),
  claimedBy: Schema.NullOr(Schema.String),
  claimedTerm: Schema.NullOr(Schema.Int),
});
/** A queued operator command. */
export type OperatorCommand = {
  readonly id: number;
  /** The migration (or rollout) it is for. */
  readonly target: string;
  /** "pause", "resume", "promote", "promote_stage", "abort", "rollback", "emergency_rollback", "decommission", "start". */
  readonly command: string;
  readonly args: JsonObject;
  readonly requestedBy: string | null;
  readonly requestedAt: number;
  readonly status: CommandStatus;
  readonly appliedAt: number | null;
  /** What applying it returned, or the error it raised. */
  readonly result: JsonObject | null;
  /** The fleet node that claimed it, and under which lease term; null when none did. */
  readonly claimedBy: string | null;
  readonly claimedTerm: number | null;
};

const codec = rowCodec(
  "commands",
  OperatorCommand,
  (r) => `id=${r.id}`,
  (r: SqlRow) => ({
    id: r.id,
    target: r.target,
    command: r.command,
    args: jsonColumn(r, "args"),
    requestedBy: r.requested_by,
    requestedAt: r.requested_at,
    status: r.status,
    appliedAt: r.applied_at,
    result: r.result === null ? null : jsonColumn(r, "result"),
    claimedBy: r.claimed_by,
    claimedTerm: r.claimed_term,
  }),
);

const SELECT = "SELECT id, target, command, args, requested_by, requested_at, status, applied_at, result, claimed_by, claimed_term FROM commands";

/**
 * The operator command queue.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * const store = await openStore(":memory:");
 * const id = await store.commands.enqueue({ target: "m1", command: "pause", args: { reason: "lunch" }, requestedBy: "ops" });
 * await store.commands.complete(id, "applied", { state: "paused" });
 * console.log((await store.commands.get(id))?.status); // applied
 * await store.close();
 * ```
 */
export class Commands {
  /** @internal */
  constructor(private readonly driver: Driver, private readonly now: () => number) {}

  /** Queue a command; resolves with its id. */
  async enqueue(c: { target: string; command: string; args?: Record<string, unknown>; requestedBy?: string }): Promise<number> {
    const v = codec.write({ id: 0, target: c.target, command: c.command, args: c.args ?? {}, requestedBy: c.requestedBy ?? null, requestedAt: this.now(), status: "pending", appliedAt: null, result: null, claimedBy: null, claimedTerm: null }, `target=${c.target},command=${c.command}`);
    const rows = await this.driver.all("INSERT INTO commands (target, command, args, requested_by, requested_at, status) VALUES (?, ?, ?, ?, ?, ?) RETURNING id", [
      v.target, v.command, JSON.stringify(v.args), v.requestedBy, v.requestedAt, v.status,
    ]);
    return Number(rows[0]!.id);
  }

  /** A target's pending commands, oldest first. */
  async pending(target: string): Promise<OperatorCommand[]> {
    return (await this.driver.all(`${SELECT} WHERE target = ? AND status = ? ORDER BY id`, [target, "pending"])).map((r) => codec.read(r));
  }

  /** Mark a pending (or claimed) command applied or failed, with its result; false if it was neither. */
  async complete(id: number, status: "applied" | "failed", result: Record<string, unknown>): Promise<boolean> {
    const changed = await this.driver.run("UPDATE commands SET status = ?, applied_at = ?, result = ? WHERE id = ? AND status IN ('pending', 'claimed')", [
      status, this.now(), JSON.stringify(result), id,
    ]);
    return changed > 0;
  }

  /**
   * Claim a target's oldest command for `nodeId` under lease `term`, in one
   * transaction: a pending one, or one claimed under an older term (its
   * leader died before applying it: the rollout's commands are idempotent,
   * so applying it again is safe). Of several nodes asking, one gets it.
   * With `id`, only that command.
   * Through a fenced store, a claim is refused once the term is over.
   */
  async claim(target: string, nodeId: string, term: number, only?: number): Promise<OperatorCommand | undefined> {
    const open = "target = ? AND (status = 'pending' OR (status = 'claimed' AND claimed_term < ?))";
    return await this.driver.transaction(async (q) => {
      const which = only === undefined ? ["", [target, term]] as const : [" AND id = ?", [target, term, only]] as const;
      const [row] = await q.all(`${SELECT} WHERE ${open}${which[0]} ORDER BY id LIMIT 1`, which[1]);
      if (row === undefined) return undefined;
      const id = Number(row.id);
      const changed = await q.run(`UPDATE commands SET status = 'claimed', claimed_by = ?, claimed_term = ? WHERE id = ? AND ${open}`, [nodeId, term, id, target, term]);
      if (changed === 0) return undefined;
      return codec.read((await q.all(`${SELECT} WHERE id = ?`, [id]))[0]!);
    });
  }

  /** One command, or undefined. */
  async get(id: number): Promise<OperatorCommand | undefined> {
    const rows = await this.driver.all(`${SELECT} WHERE id = ?`, [id]);
    return rows.length === 0 ? undefined : codec.read(rows[0]!);
  }

  /** A target's commands, newest first, at most `limit` (default 50). */
  async list(target: string, limit = 50): Promise<OperatorCommand[]> {
    return (await this.driver.all(`${SELECT} WHERE target = ? ORDER BY id DESC LIMIT ?`, [target, limit])).map((r) => codec.read(r));
  }
}
