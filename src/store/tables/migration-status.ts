/**
 * `migration_status`: each phase of each migration run, with its outcome.
 *
 * @module
 */
import * as Schema from "effect/Schema";
import { jsonColumn, JsonObject, Millis, rowCodec } from "../codec.ts";
import type { Driver, SqlRow } from "../driver.ts";

/** The outcome of a phase. */
export const PhaseStatus: Schema.Codec<PhaseStatus> = Schema.Literals(["running", "completed", "failed", "skipped", "rolled_back"]);
/** The outcome of a phase. */
export type PhaseStatus = "running" | "completed" | "failed" | "skipped" | "rolled_back";

/** One phase of one migration run. */
export const MigrationPhase: Schema.Codec<MigrationPhase> = Schema.Struct({
  migrationId: Schema.NonEmptyString,
  phase: Schema.NonEmptyString,
  status: PhaseStatus,
  startedAt: Millis,
  completedAt: Schema.NullOr(Millis),
  metadata: JsonObject,
});
/** One phase of one migration run. */
export type MigrationPhase = {
  readonly migrationId: string;
  readonly phase: string;
  readonly status: PhaseStatus;
  readonly startedAt: number;
  readonly completedAt: number | null;
  readonly metadata: JsonObject;
};

const codec = rowCodec(
  "migration_status",
  MigrationPhase,
  (r) => `migration_id=${r.migration_id},phase=${r.phase}`,
  (r: SqlRow) => ({
    migrationId: r.migration_id,
    phase: r.phase,
    status: r.status,
    startedAt: r.started_at,
    completedAt: r.completed_at,
    metadata: jsonColumn(r, "metadata"),
  }),
);

/**
 * Phases of migration runs.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * const store = await openStore(":memory:");
 * await store.migrationStatus.record({ migrationId: "m1", phase: "preflight", status: "completed", startedAt: 1, completedAt: 2, metadata: {} });
 * console.log((await store.migrationStatus.list("m1")).map((p) => p.phase)); // [ "preflight" ]
 * await store.close();
 * ```
 */
export class MigrationStatus {
  /** @internal */
  constructor(private readonly driver: Driver) {}

  /** Insert or update (by migration id and phase) a phase. */
  async record(phase: MigrationPhase): Promise<void> {
    const v = codec.write(phase, `migration_id=${phase.migrationId},phase=${phase.phase}`);
    await this.driver.run(
      `INSERT INTO migration_status (migration_id, phase, status, started_at, completed_at, metadata) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (migration_id, phase) DO UPDATE SET status = excluded.status, started_at = excluded.started_at,
       completed_at = excluded.completed_at, metadata = excluded.metadata`,
      [v.migrationId, v.phase, v.status, v.startedAt, v.completedAt, JSON.stringify(v.metadata)],
    );
  }

  /** The phases of one run in the order they started, or of every run. */
  async list(migrationId?: string): Promise<MigrationPhase[]> {
    const select = "SELECT migration_id, phase, status, started_at, completed_at, metadata FROM migration_status";
    const rows = migrationId === undefined
      ? await this.driver.all(`${select} ORDER BY started_at, migration_id, phase`)
      : await this.driver.all(`${select} WHERE migration_id = ? ORDER BY started_at, phase`, [migrationId]);
    return rows.map((r) => codec.read(r));
  }
}
