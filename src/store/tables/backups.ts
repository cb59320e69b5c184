/**
 * `backups`: JSON documents of everything a migration may change, written
 * before it changes anything, kept in the store and optionally in a file.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import * as Schema from "effect/Schema";
import { jsonColumn, Millis, rowCodec } from "../codec.ts";
import { BackupError } from "../../errors.ts";
import type { Driver, SqlRow } from "../driver.ts";
import { appliedMigrations } from "../migrations.ts";
import type { Decisions } from "./decisions.ts";
import { FlagRecord, type Flags } from "./flags.ts";
import type { Journal } from "./journal.ts";
import type { Nodes } from "./nodes.ts";
import { PoolConfiguration, type PoolConfigurations } from "./pool-configurations.ts";
import { PoolMetricsEntry, type PoolMetrics } from "./pool-metrics.ts";
import { ProgramRecord, type Programs } from "./programs.ts";
import { SnapshotRecord, type Snapshots } from "./snapshots.ts";

/** A persisted machine as it was: how far its journal went, and its snapshots. */
export const MachinePosition: Schema.Codec<MachinePosition> = Schema.Struct({
  actorId: Schema.NonEmptyString,
  journalSeq: Schema.Int.check(Schema.isGreaterThanOrEqualTo(0)),
  snapshots: Schema.Array(SnapshotRecord),
});
/** A persisted machine as it was. */
export type MachinePosition = {
  readonly actorId: string;
  /** Its last journal entry's sequence number (0: none). */
  readonly journalSeq: number;
  readonly snapshots: readonly SnapshotRecord[];
};

/** What a backup holds. Documents from before restores existed lack the optional fields, and restore what they hold. */
export const BackupDocument: Schema.Codec<BackupDocument> = Schema.Struct({
  schemaVersion: Schema.optional(Schema.Int),
  poolConfigurations: Schema.Array(PoolConfiguration),
  flags: Schema.Array(FlagRecord),
  effectiveFlags: Schema.optional(Schema.Array(Schema.Struct({ flag: Schema.NonEmptyString, value: Schema.Json, source: Schema.String }))),
  sessions: Schema.Array(Schema.Json),
  programs: Schema.Array(ProgramRecord),
  metricSummaries: Schema.Array(PoolMetricsEntry),
  machines: Schema.optional(Schema.Array(MachinePosition)),
  nodes: Schema.optional(Schema.Array(Schema.Json)),
});
/** What a backup holds. */
export type BackupDocument = {
  /** The store's schema version when it was taken: a newer one than the store's cannot be restored. */
  readonly schemaVersion?: number | undefined;
  readonly poolConfigurations: readonly PoolConfiguration[];
  /** The flags' stored records: what a restore puts back. */
  readonly flags: readonly FlagRecord[];
  /**
   * Every flag as the process that took the backup saw it: its value and
   * where that came from (pin, env, config, store, default). A record: env
   * and pins belong to processes, and are not restored.
   */
  readonly effectiveFlags?: readonly { readonly flag: string; readonly value: Schema.Json; readonly source: string }[] | undefined;
  readonly sessions: readonly Schema.Json[];
  readonly programs: readonly ProgramRecord[];
  /** The newest metrics of each pool and node. */
  readonly metricSummaries: readonly PoolMetricsEntry[];
  /** Every persisted machine (migrations, rollouts, breakers). */
  readonly machines?: readonly MachinePosition[] | undefined;
  /** The fleet's nodes as they were (a record: nodes are processes, and are not restored). */
  readonly nodes?: readonly Schema.Json[] | undefined;
};

const backupInfoFields = {
  id: Schema.NonEmptyString,
  createdAt: Millis,
  reason: Schema.String,
  file: Schema.NullOr(Schema.String),
};

/** A backup without its document, as `list` returns it. */
export const BackupInfo: Schema.Codec<BackupInfo> = Schema.Struct(backupInfoFields);
/** A backup without its document, as `list` returns it. */
export type BackupInfo = {
  readonly id: string;
  readonly createdAt: number;
  readonly reason: string;
  readonly file: string | null;
};

/** A stored backup. */
export const Backup: Schema.Codec<Backup> = Schema.Struct({ ...backupInfoFields, document: BackupDocument });
/** A stored backup. */
export type Backup = BackupInfo & { readonly document: BackupDocument };

const key = (r: SqlRow): string => `id=${r.id}`;
const info = (r: SqlRow) => ({ id: r.id, createdAt: r.created_at, reason: r.reason, file: r.file });
const codec = rowCodec("backups", Backup, key, (r) => ({ ...info(r), document: jsonColumn(r, "document") }));
const infoCodec = rowCodec("backups", BackupInfo, key, info);

/** What a restore did. */
export interface RestoreReport {
  readonly backupId: string;
  readonly at: number;
  readonly by: string;
  readonly reason: string;
  /** The flags whose stored value changed (set back, or removed). */
  readonly flagsChanged: readonly string[];
  readonly programs: number;
  readonly poolConfigurations: number;
  /** Each persisted machine: the position it is back at, journal entries dropped, and whether it was forgotten (unknown to the backup). */
  readonly machines: readonly { readonly actorId: string; readonly journalSeq: number; readonly droppedEntries: number; readonly forgotten: boolean }[];
}

/** Options of `write`. */
export interface BackupWriteOptions {
  /** Why it was taken, e.g. "before migration m1". Default: "". */
  readonly reason?: string;
  /** Also write the backup (as JSON) to this file, atomically. Default: none. */
  readonly file?: string;
}

/**
 * Backups of the store's state.
 *
 * @example
 * ```ts
 * import { openStore } from "molt";
 * const store = await openStore(":memory:");
 * await store.flags.set("pool_v2_enabled", false);
 * const backup = await store.backups.write(await store.backups.collect(), { reason: "before migration" });
 * console.log((await store.backups.read(backup.id))?.document.flags.length); // 1
 * await store.close();
 * ```
 */
export class Backups {
  /** @internal */
  constructor(
    private readonly driver: Driver,
    private readonly now: () => number,
    private readonly tables: {
      poolConfigurations: PoolConfigurations;
      flags: Flags;
      programs: Programs;
      poolMetrics: PoolMetrics;
      snapshots: Snapshots;
      journal: Journal;
      decisions: Decisions;
      nodes: Nodes;
    },
  ) {}

  /** Gather the store's current state into a document; `sessions` and the flags' effective values come from the caller (its router and flags hold them). */
  async collect(extra: { sessions?: readonly unknown[]; effectiveFlags?: BackupDocument["effectiveFlags"] } = {}): Promise<BackupDocument> {
    const t = this.tables;
    const actors = [...new Set([...await t.journal.actors(), ...await t.snapshots.actors()])].sort();
    const machines = await Promise.all(actors.map(async (actorId) => ({ actorId, journalSeq: await t.journal.lastSeq(actorId), snapshots: await t.snapshots.list(actorId) })));
    return {
      schemaVersion: await this.schemaVersion(),
      poolConfigurations: await t.poolConfigurations.list(),
      flags: await t.flags.list(),
      ...(extra.effectiveFlags === undefined ? {} : { effectiveFlags: extra.effectiveFlags }),
      sessions: (extra.sessions ?? []) as BackupDocument["sessions"],
      programs: await t.programs.list(),
      metricSummaries: await t.poolMetrics.latest(),
      machines,
      nodes: JSON.parse(JSON.stringify(await t.nodes.list())),
    };
  }

  /**
   * Put the store back as `backup` holds it, in one transaction: the flags
   * (each change recorded and announced, as a `set` would), the programs,
   * the pool configurations, and every persisted machine (journal entries
   * after its position and snapshots not in the backup are dropped; a
   * machine the backup does not know is forgotten). Decisions, metrics and
   * commands are history, and stay; the restore is recorded as a decision
   * of `decisionTarget` with who and why. Nothing changes if any of it fails.
   */
  async restore(backup: Backup, options: { by: string; reason: string; decisionTarget: string }): Promise<RestoreReport> {
    const doc = backup.document;
    const current = await this.schemaVersion();
    if ((doc.schemaVersion ?? 0) > current) {
      throw new BackupError({ source: backup.id, problem: "newer_schema", reason: `written by schema ${doc.schemaVersion}, newer than this store's ${current}: upgrade molt first` });
    }
    const t = this.tables;
    const at = this.now();
    const meta = { by: options.by, reason: `restore of ${backup.id}: ${options.reason}` };
    return await this.driver.transaction(async (q) => {
      const flagsChanged = await t.flags.replaceAll(q, doc.flags, meta);
      await t.programs.replaceAll(q, doc.programs);
      await t.poolConfigurations.replaceAll(q, doc.poolConfigurations);
      const known = new Map((doc.machines ?? []).map((m) => [m.actorId, m]));
      const actors = [...new Set([...await t.journal.actors(q), ...await t.snapshots.actors(q), ...known.keys()])].sort();
      const machines: RestoreReport["machines"][number][] = [];
      for (const actorId of actors) {
        const was = known.get(actorId);
        const dropped = await t.journal.rewind(q, actorId, was?.journalSeq ?? 0);
        await t.snapshots.replaceFor(q, actorId, was?.snapshots ?? []);
        machines.push({ actorId, journalSeq: was?.journalSeq ?? 0, droppedEntries: dropped, forgotten: was === undefined });
      }
      const report: RestoreReport = { backupId: backup.id, at, by: options.by, reason: options.reason, flagsChanged, programs: doc.programs.length, poolConfigurations: doc.poolConfigurations.length, machines };
      await t.decisions.record({
        rolloutId: options.decisionTarget, at, kind: "backup.restored", stateFrom: "", stateTo: "", shareFrom: 0, shareTo: 0,
        reason: `${options.by} restored ${backup.id} (taken ${new Date(backup.createdAt).toISOString()}, ${backup.reason || "no reason given"}): ${options.reason}`,
        inputs: JSON.parse(JSON.stringify(report)),
      }, q);
      return report;
    });
  }

  private async schemaVersion(): Promise<number> {
    return Math.max(0, ...(await appliedMigrations(this.driver)).map((m) => m.version));
  }

  /** Store a document (and write it to `file` if given); resolves with the stored backup. */
  async write(document: BackupDocument, options: BackupWriteOptions = {}): Promise<Backup> {
    const createdAt = this.now();
    const id = `backup-${createdAt}-${randomUUID().slice(0, 8)}`;
    const backup = codec.write({ id, createdAt, reason: options.reason ?? "", file: options.file ?? null, document }, `id=${id}`);
    if (options.file !== undefined) {
      await mkdir(dirname(options.file), { recursive: true });
      const partial = `${options.file}.${process.pid}.partial`;
      await writeFile(partial, JSON.stringify(backup, null, 2));
      await rename(partial, options.file);
    }
    await this.driver.run("INSERT INTO backups (id, created_at, reason, file, document) VALUES (?, ?, ?, ?, ?)", [
      backup.id, backup.createdAt, backup.reason, backup.file, JSON.stringify(backup.document),
    ]);
    return backup;
  }

  /** Every backup without its document, newest first. */
  async list(): Promise<BackupInfo[]> {
    const rows = await this.driver.all("SELECT id, created_at, reason, file FROM backups ORDER BY created_at DESC, id DESC");
    return rows.map((r) => infoCodec.read(r));
  }

  /** One backup with its document, or undefined. */
  async read(id: string): Promise<Backup | undefined> {
    const rows = await this.driver.all("SELECT id, created_at, reason, file, document FROM backups WHERE id = ?", [id]);
    return rows.length === 0 ? undefined : codec.read(rows[0]!);
  }

  /** Delete a backup from the store (its file stays); resolves false if there was none. */
  async delete(id: string): Promise<boolean> {
    return (await this.driver.run("DELETE FROM backups WHERE id = ?", [id])) > 0;
  }
}
