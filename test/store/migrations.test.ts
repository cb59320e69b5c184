/**
 * Migrations: several processes opening one store at the same moment apply
 * each migration exactly once (under SQLite's write lock or a PostgreSQL
 * advisory lock), and a later migration is applied on the next open.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { openStore } from "../../mod.ts";
import { type Migration, migrate, MIGRATIONS } from "../../src/store/migrations.ts";
import { openSqlite } from "../../src/store/sqlite-driver.ts";
import { fixture, spawnChild, tsCommand } from "../helpers.ts";
import { BACKENDS } from "./backends.ts";

const PROCESSES = 4;

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== null)(`migrations (${backend.name})`, () => {
    afterAll(() => backend.cleanup());

    test(`${PROCESSES} processes opening one fresh store together apply each migration once`, async () => {
      for (let round = 0; round < 3; round++) {
        const url = backend.fresh();
        const startAt = Date.now() + 600;
        const children = Array.from({ length: PROCESSES }, () =>
          spawnChild(tsCommand(fixture("open-store.ts"), url, String(startAt)), { stderr: "pipe" }));
        const results = await Promise.all(children.map(async (child) => {
          const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
          return { code, out: out.trim(), err: err.trim() };
        }));
        expect(results.filter((r) => r.code !== 0)).toEqual([]);
        const appliedBy = results.map((r) => JSON.parse(r.out) as number[]).filter((versions) => versions.length > 0);
        expect(appliedBy).toEqual([MIGRATIONS.map((m) => m.version)]);
        const store = await openStore(url);
        expect((await store.migrations()).map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version));
        await store.close();
      }
    }, 30_000);

    test("a store of the last version without the fleet's tables is migrated on open: its queued commands are claimed, nodes join", async () => {
      const url = backend.fresh();
      const old = await openStore(url);
      // Back to version 6, as an older molt left it, with a command queued.
      await backend.exec(url, "DROP TABLE nodes; DROP TABLE leases; DROP INDEX pool_metrics_time; DROP INDEX pool_metrics_window; ALTER TABLE commands DROP COLUMN claimed_by; ALTER TABLE commands DROP COLUMN claimed_term; DELETE FROM schema_migrations WHERE version = 7");
      await old.close();
      await backend.exec(url, "INSERT INTO commands (target, command, args, requested_at, status) VALUES ('r', 'pause', '{}', 1, 'pending')");
      const store = await openStore(url);
      expect(store.applied.map((m) => m.version)).toEqual([7]);
      expect(await store.commands.claim("r", "n1", 1)).toMatchObject({ command: "pause", status: "claimed", claimedBy: "n1" });
      await store.nodes.join({ nodeId: "n1", target: "r", host: "h", pid: 1, version: "0", role: "follower", arms: ["v1", "v2"], heartbeatMs: 1000 });
      expect((await store.nodes.list("r")).map((n) => n.nodeId)).toEqual(["n1"]);
      await store.close();
    });
  });
}

describe("migrations", () => {
  test("a new migration is applied on the next open, the old ones are not repeated", async () => {
    const driver = await openSqlite(":memory:", ":memory:");
    expect((await migrate(driver)).map((m) => m.version)).toEqual(MIGRATIONS.map((m) => m.version));
    const next: Migration = { version: 99, name: "sessions", statements: () => ["CREATE TABLE sessions (id TEXT)"] };
    expect((await migrate(driver, [...MIGRATIONS, next], () => 7)).map((m) => [m.version, m.appliedAt])).toEqual([[99, 7]]);
    expect(await migrate(driver, [...MIGRATIONS, next])).toEqual([]);
    await driver.close();
  });

  test("upgrading a store forgets what was stored for flags that nothing read until now; other flags stay", async () => {
    const driver = await openSqlite(":memory:", ":memory:");
    await migrate(driver, MIGRATIONS.filter((m) => m.version <= 5));
    for (const [key, value] of [["circuit_breaker", "false"], ["telemetry_v2", "true"], ["pool_v2_share", "500"]]) {
      await driver.run("INSERT INTO flags (key, value, updated_at) VALUES (?, ?, 0)", [key!, value!]);
    }
    expect((await migrate(driver)).map((m) => m.version)).toEqual(MIGRATIONS.filter((m) => m.version >= 6).map((m) => m.version));
    expect((await driver.all("SELECT key FROM flags")).map((r) => r.key)).toEqual(["pool_v2_share"]);
    await driver.close();
  });

  test("a migration that fails leaves nothing of itself behind", async () => {
    const driver = await openSqlite(":memory:", ":memory:");
    await migrate(driver);
    const broken: Migration = { version: 99, name: "broken", statements: () => ["CREATE TABLE half (a TEXT)", "CREATE TABLE oops ("] };
    const e = await migrate(driver, [...MIGRATIONS, broken]).then(() => null, (e: unknown) => e as { _tag: string });
    expect(e?._tag).toBe("StoreError");
    expect((await driver.all("SELECT name FROM sqlite_master WHERE name = 'half'")).length).toBe(0);
    expect((await driver.all("SELECT version FROM schema_migrations")).map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    await driver.close();
  });
});
