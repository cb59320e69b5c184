/**
 * Restoring a backup: from the store by id, or from a backup file (into
 * this store or a fresh one), refused while a rollout is under way or a
 * process serves a migration of the store unless forced, and recorded as a
 * decision with who and why.
 *
 * @module
 */
import { readFile } from "node:fs/promises";
import * as Schema from "effect/Schema";
import { boolean, nonEmptyString, option, refuseUnknown, required } from "../config.ts";
import { BackupError } from "../errors.ts";
import { type Store, storeRule } from "../store/store.ts";
import { Backup, type RestoreReport } from "../store/tables/backups.ts";
import { readMigration } from "./inspect.ts";

/** Options of `restoreBackup`. */
export interface RestoreOptions {
  /** Who restores it, recorded with every change. Required. */
  readonly by: string;
  /** Why. Default: "no reason given". */
  readonly reason?: string;
  /** Restore even while a rollout is active, paused or rolling back, or a process serves a migration. Default: false. */
  readonly force?: boolean;
  /** The migration whose decisions record the restore. Default: "store". */
  readonly migrationId?: string;
}

const IN_PROGRESS = ["active", "paused", "rollingBack"];

/**
 * Put the store back as a backup holds it (see `store.backups.restore`):
 * `source` is a backup's id in this store, or a backup read with
 * `readBackupFile`. A BackupError, with nothing changed, for an unknown id,
 * a backup from a newer schema, or without `force` a rollout under way or a
 * process serving a migration (a live node: its machines in memory would go
 * on from a history the store no longer holds).
 *
 * @example
 * ```ts
 * import { openStore, restoreBackup } from "molt";
 * const store = await openStore(":memory:");
 * await store.flags.set("pool_v2_share", 0);
 * const backup = await store.backups.write(await store.backups.collect(), { reason: "before" });
 * await store.flags.set("pool_v2_share", 5000);
 * const report = await restoreBackup(store, backup.id, { by: "ops", reason: "undo the test" });
 * console.log(report.flagsChanged, (await store.flags.get("pool_v2_share"))?.value); // [ "pool_v2_share" ] 0
 * await store.close();
 * ```
 */
export async function restoreBackup(store: Store, source: string | Backup, options: RestoreOptions): Promise<RestoreReport> {
  const owner = "restoreBackup";
  required(owner, "store", store, storeRule);
  refuseUnknown(owner, options ?? {}, ["by", "reason", "force", "migrationId"]);
  const by = required(owner, "by", options?.by, nonEmptyString);
  const reason = option(owner, "reason", options.reason, nonEmptyString, "no reason given");
  const force = option(owner, "force", options.force, boolean, false);
  const decisionTarget = option(owner, "migrationId", options.migrationId, nonEmptyString, "store");
  const backup = typeof source === "string" ? await backupById(store, required(owner, "source", source, nonEmptyString)) : source;
  if (!force) {
    const actors = [...new Set([...await store.journal.actors(), ...await store.snapshots.actors()])];
    for (const actor of actors.filter((a) => a.startsWith("rollout:"))) {
      const id = actor.slice("rollout:".length);
      const state = (await readMigration(store, id)).rollout?.state;
      if (state !== undefined && IN_PROGRESS.includes(state)) {
        throw new BackupError({ source: backup.id, problem: "rollout_active", reason: `rollout "${id}" is ${state}: roll it back or abort it first, or restore with force` });
      }
    }
    for (const id of new Set(actors.map((a) => a.slice(a.indexOf(":") + 1)))) {
      const live = (await store.nodes.list(id)).filter((n) => n.live);
      if (live.length > 0) {
        const who = live.map((n) => `${n.nodeId} (pid ${n.pid} on ${n.host})`).join(", ");
        throw new BackupError({ source: backup.id, problem: "process_serving", reason: `migration "${id}" is served by ${who}: stop it first (its machines would go on from a history the store no longer holds), or restore with force` });
      }
    }
  }
  return await store.backups.restore(backup, { by, reason, decisionTarget });
}

/** @internal The backup `id` of the store; a BackupError "unknown_id" when there is none. */
export async function backupById(store: Store, id: string): Promise<Backup> {
  const backup = await store.backups.read(id);
  if (backup === undefined) throw new BackupError({ source: id, problem: "unknown_id", reason: "no backup with this id in the store" });
  return backup;
}

const decodeBackup = Schema.decodeUnknownSync(Backup);

/**
 * Read a backup file (as `store.backups.write` writes it with `file`); a
 * BackupError "unreadable" when it is missing, not JSON (truncated) or not
 * a whole backup.
 *
 * @example
 * ```ts
 * import { readBackupFile } from "molt";
 * const e = await readBackupFile("/nonexistent/backup.json").catch((e) => e);
 * console.log(e._tag, e.problem); // BackupError unreadable
 * ```
 */
export async function readBackupFile(path: string): Promise<Backup> {
  const owner = "readBackupFile";
  required(owner, "path", path, nonEmptyString);
  const unreadable = (reason: string): BackupError => new BackupError({ source: path, problem: "unreadable", reason });
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (e) {
    throw unreadable(`cannot be read: ${(e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw unreadable(`is not JSON (truncated or corrupt): ${(e as Error).message}`);
  }
  try {
    return decodeBackup(parsed);
  } catch (e) {
    throw unreadable(`is not a whole backup: ${String((e as Error).message).split("\n").slice(0, 3).join(" ")}`);
  }
}
