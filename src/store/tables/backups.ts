/**
 * `backups`: JSON documents of everything a migration may change, written
 * before it changes anything, kept in the store and optionally in a file.
 *
 * @module
 */
import { randomUUID } from "node:crypto";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import { Schema } from "effect";
import { jsonColumn, Millis, rowCodec } from "../codec.ts";
import type { Driver, SqlRow } from "../driver.ts";
import { FlagRecord, type Flags } from "./flags.ts";
import { PoolConfiguration, type PoolConfigurations } from "./pool-configurations.ts";
import { PoolMetricsEntry, type PoolMetrics } from "./pool-metrics.ts";
import { ProgramRecord, type Programs } from "./programs.ts";

/** What a backup holds. */
export const BackupDocument = Schema.Struct({
  poolConfigurations: Schema.Array(PoolConfiguration),
  flags: Schema.Array(FlagRecord),
  sessions: Schema.Array(Schema.Json),
  programs: Schema.Array(ProgramRecord),
  /** The newest metrics of each pool and node. */
  metricSummaries: Schema.Array(PoolMetricsEntry),
});
/** What a backup holds. */
export type BackupDocument = typeof BackupDocument.Type;

/** A backup without its document, as `list` returns it. */
export const BackupInfo = Schema.Struct({
  id: Schema.NonEmptyString,
  createdAt: Millis,
  reason: Schema.String,
  file: Schema.NullOr(Schema.String),
});
/** A backup without its document, as `list` returns it. */
export type BackupInfo = typeof BackupInfo.Type;

/** A stored backup. */
export const Backup = Schema.Struct({ ...BackupInfo.fields, document: BackupDocument });
/** A stored backup. */
export type Backup = typeof Backup.Type;

const key = (r: SqlRow): string => `id=${r.id}`;
const info = (r: SqlRow) => ({ id: r.id, createdAt: r.created_at, reason: r.reason, file: r.file });
const codec = rowCodec("backups", Backup, key, (r) => ({ ...info(r), document: jsonColumn(r, "document") }));
const infoCodec = rowCodec("backups", BackupInfo, key, info);

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
    private readonly tables: { poolConfigurations: PoolConfigurations; flags: Flags; programs: Programs; poolMetrics: PoolMetrics },
  ) {}

  /** Gather the store's current state into a document; `sessions` come from the caller (the router holds them). */
  async collect(extra: { sessions?: readonly unknown[] } = {}): Promise<BackupDocument> {
    return {
      poolConfigurations: await this.tables.poolConfigurations.list(),
      flags: await this.tables.flags.list(),
      sessions: (extra.sessions ?? []) as BackupDocument["sessions"],
      programs: await this.tables.programs.list(),
      metricSummaries: await this.tables.poolMetrics.latest(),
    };
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
