/**
 * A SQLite transaction whose body fails is rolled back and leaves the
 * connection ready for the next one, on every runtime: under Node 22.13
 * (no `DatabaseSync.isTransaction`) the failed transaction used to stay
 * open, and every later one failed with "cannot start a transaction within
 * a transaction" (a fleet node on SQLite never took the lease again).
 */
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqlite } from "../../src/store/sqlite-driver.ts";
import { rejection } from "../helpers.ts";

const dir = mkdtempSync(join(tmpdir(), "molt-tx-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("a body that throws rolls back; the next transaction commits", async () => {
  const driver = await openSqlite(join(dir, "a.db"), "sqlite:a.db");
  await driver.run("CREATE TABLE t (x INTEGER)");
  const refused = new Error("refused inside the transaction");
  const e = await rejection(driver.transaction(async (q) => {
    await q.run("INSERT INTO t VALUES (1)");
    throw refused;
  }));
  expect(e).toBe(refused as typeof e);
  await driver.transaction((q) => q.run("INSERT INTO t VALUES (2)"));
  expect(await driver.all("SELECT x FROM t")).toEqual([{ x: 2 }]);
  await driver.close();
});

test("a body whose statement fails rolls back too, and its error is the one raised", async () => {
  const driver = await openSqlite(join(dir, "b.db"), "sqlite:b.db");
  await driver.run("CREATE TABLE t (x INTEGER PRIMARY KEY)");
  const e = await rejection(driver.transaction(async (q) => {
    await q.run("INSERT INTO t VALUES (1)");
    await q.run("INSERT INTO t VALUES (1)");
  }));
  expect(e).toMatchObject({ _tag: "StoreError", failure: "conflict" });
  await driver.transaction((q) => q.run("INSERT INTO t VALUES (3)"));
  expect(await driver.all("SELECT x FROM t")).toEqual([{ x: 3 }]);
  await driver.close();
});
