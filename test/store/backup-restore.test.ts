/**
 * Backups that restore: taken before a rollout, restored after part of one
 * ran (refused while it is active unless forced), every table the backup
 * covers compared with it; a backup file restored into a fresh store; bad
 * input a BackupError with nothing changed.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Backup, openStore, readBackupFile, restoreBackup, type Store } from "../../mod.ts";
import { rejection } from "../helpers.ts";
import { running } from "../cli/helpers.ts";
import { rig } from "../rollout/helpers.ts";
import { BACKENDS } from "./backends.ts";

/** What the backup covers, read from the store: flags by value, programs and configurations whole, each machine's position and snapshots. */
async function covered(store: Store): Promise<unknown> {
  const actors = [...new Set([...await store.journal.actors(), ...await store.snapshots.actors()])].sort();
  return {
    flags: (await store.flags.list()).map((f) => [f.key, f.value]),
    programs: await store.programs.list(),
    poolConfigurations: await store.poolConfigurations.list(),
    machines: await Promise.all(actors.map(async (actorId) => ({ actorId, journalSeq: await store.journal.lastSeq(actorId), snapshots: await store.snapshots.list(actorId) }))),
  };
}

const inBackup = (b: Backup): unknown => ({
  flags: b.document.flags.map((f) => [f.key, f.value]),
  programs: b.document.programs,
  poolConfigurations: b.document.poolConfigurations,
  machines: b.document.machines,
});

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== null)(`backups that restore (${backend.name})`, () => {
    afterAll(() => backend.cleanup());

    test("back up, change flags and programs and run part of a rollout, restore: every covered table is as backed up", async () => {
      const url = backend.fresh();
      const store = await openStore(url);
      await store.flags.set("pool_v2_enabled", false, { by: "setup" });
      await store.flags.set("pool_v2_share", 0, { by: "setup" });
      await store.programs.put("summarize", { signature: "text -> summary", demos: [] });
      await store.poolConfigurations.save({ name: "v1", version: 1, config: { strategy: "basic", size: 2 }, active: true });
      const file = join(tmpdir(), `molt-backup-${process.pid}-${backend.name}.json`);
      const backup = await store.backups.write(await store.backups.collect(), { reason: "before the rollout", file });
      expect(backup.document.schemaVersion).toBe(Math.max(...(await store.migrations()).map((m) => m.version)));

      // Part of a rollout: started, one window judged; then flags and programs changed by hand.
      const r = await rig("", {}, {}, url);
      await r.rollout.start();
      await r.traffic(30);
      r.advance(60_000);
      await r.rollout.tick();
      await r.rollout.stop();
      await store.programs.put("summarize", { signature: "text -> summary, confidence", demos: [1] });
      await store.programs.put("extra", { signature: "a -> b" });
      await store.flags.set("telemetry_sample_rate", 0.5, { by: "someone" });
      const changed = await covered(store);
      expect(changed).not.toEqual(inBackup(backup));

      // Refused while the rollout is active, and nothing changed.
      const refused = await rejection(restoreBackup(store, backup.id, { by: "ops" }));
      expect(refused).toMatchObject({ _tag: "BackupError", problem: "rollout_active" });
      expect(refused.message).toContain(`rollout "rollout" is active`);
      expect(await covered(store)).toEqual(changed);

      const report = await restoreBackup(store, backup.id, { by: "ops", reason: "the canary corrupted carts", force: true, migrationId: "rollout" });
      expect(await covered(store)).toEqual(inBackup(backup));
      expect([...report.flagsChanged].sort()).toEqual(["pool_v2_enabled", "pool_v2_share", "telemetry_sample_rate"]);
      expect(report.machines.find((m) => m.actorId === "rollout:rollout")).toMatchObject({ forgotten: true, journalSeq: 0 });
      // Recorded with who and why, and each flag change too.
      const decision = (await store.decisions.list("rollout")).at(-1)!;
      expect([decision.kind, decision.reason]).toEqual(["backup.restored", expect.stringContaining("ops restored")]);
      expect(decision.reason).toContain("the canary corrupted carts");
      expect((await store.flags.changes({ key: "pool_v2_share" })).at(-1)).toMatchObject({ changedBy: "ops", newValue: 0 });

      // The file restores into a fresh store the same way.
      const fresh = await openStore(backend.fresh());
      await restoreBackup(fresh, await readBackupFile(file), { by: "ops" });
      expect(await covered(fresh)).toEqual(inBackup(backup));
      await Promise.all([r.stop().catch(() => {}), fresh.close()]);
      await store.close();
    }, 60_000);

    test("an unknown id, a truncated or corrupt file, a newer schema: a BackupError each, and nothing changed", async () => {
      const store = await openStore(backend.fresh());
      await store.flags.set("pool_v2_share", 2500);
      const file = join(tmpdir(), `molt-bad-backup-${process.pid}-${backend.name}.json`);
      const backup = await store.backups.write(await store.backups.collect(), { file });
      await store.flags.set("pool_v2_share", 5000);
      const before = await covered(store);
      const text = readFileSync(file, "utf8");

      expect(await rejection(restoreBackup(store, "backup-nope", { by: "ops" }))).toMatchObject({ _tag: "BackupError", problem: "unknown_id", source: "backup-nope" });
      writeFileSync(file, text.slice(0, text.length / 2));
      expect(await rejection(readBackupFile(file))).toMatchObject({ _tag: "BackupError", problem: "unreadable", reason: expect.stringContaining("not JSON") });
      writeFileSync(file, JSON.stringify({ ...JSON.parse(text), document: { flags: "all of them" } }));
      expect(await rejection(readBackupFile(file))).toMatchObject({ _tag: "BackupError", problem: "unreadable", reason: expect.stringContaining("not a whole backup") });
      const newer = { ...backup, document: { ...backup.document, schemaVersion: 999 } };
      expect(await rejection(restoreBackup(store, newer, { by: "ops" }))).toMatchObject({ _tag: "BackupError", problem: "newer_schema" });
      expect(await rejection(restoreBackup(store, backup.id, {} as never))).toMatchObject({ _tag: "ConfigError", option: "by" });
      expect(await covered(store)).toEqual(before);
      await store.close();
    });
  });
}

test("a restore is refused while a process serves a migration of the store, even rolled back: its machines would go on from a history the store no longer holds", async () => {
  const sqlite = BACKENDS[0]!;
  const url = sqlite.fresh();
  const m = await running(url);
  try {
    await m.migration.rollback("done with V2");
    const before = (await m.store.backups.list()).find((b) => b.reason === "before migration migration")!;
    const refused = await rejection(restoreBackup(m.store, before.id, { by: "ops" }));
    expect(refused).toMatchObject({ _tag: "BackupError", problem: "process_serving" });
    expect(refused.message).toContain(`migration "migration" is served by `);
    expect(refused.message).toContain(`(pid ${process.pid} on `);
    // Nothing changed: the rollout is still there.
    expect((await m.store.snapshots.actors()).includes("rollout:migration")).toBe(true);
    // Once it stopped (its node marked so), the same restore goes ahead.
    await m.stop();
    const store = await openStore(url, { create: false });
    const report = await restoreBackup(store, before.id, { by: "ops" });
    await store.close();
    expect(report.machines.find((x) => x.actorId === "rollout:migration")).toMatchObject({ forgotten: true });
  } finally {
    await m.stop();
    await sqlite.cleanup();
  }
}, 60_000);
