/**
 * store.probe(), which preflight reads: the version against the oldest
 * supported, and which of molt's tables this connection may not write — on
 * PostgreSQL with real roles, one of which lacks a grant.
 */
import { afterAll, describe, expect, test } from "bun:test";
import postgres from "postgres";
import { createFlags, createMigration, openStore } from "../../mod.ts";
import { fixture, rejection } from "../helpers.ts";
import { armPool } from "../routing/helpers.ts";
import { BACKENDS, PG_URL, pgSkip } from "./backends.ts";

const [sqlite, pg] = BACKENDS as [(typeof BACKENDS)[number], (typeof BACKENDS)[number]];
afterAll(() => Promise.all([sqlite.cleanup(), pg.cleanup()]));

test("SQLite: its library's version, and every table writable", async () => {
  const store = await openStore(sqlite.fresh());
  expect(await store.probe()).toMatchObject({ backend: "sqlite", minimumVersion: "3.35.0", versionOk: true, unwritable: [] });
  await store.close();
});

describe.skipIf(pgSkip !== null)("PostgreSQL", () => {
  const role = `molt_probe_${process.pid}`;
  const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
  afterAll(async () => {
    await admin.unsafe(`DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`).catch(() => {});
    await admin.end({ timeout: 5 });
  });

  test("a role that may only read molt's tables opens the store, and the probe names every table it cannot write", async () => {
    const url = pg.fresh();
    const schema = new URL(url).searchParams.get("schema")!;
    (await openStore(url)).close();
    await admin.unsafe(`CREATE ROLE ${role} LOGIN; GRANT USAGE ON SCHEMA ${schema} TO ${role}; GRANT SELECT ON ALL TABLES IN SCHEMA ${schema} TO ${role}`);
    const asRole = url.replace("postgres@", `${role}@`);
    const store = await openStore(asRole);
    const p = await store.probe();
    expect([p.backend, p.versionOk, p.minimumVersion]).toEqual(["postgres", true, "12.0"]);
    expect(p.unwritable).toContain("journal");
    expect(p.unwritable).toContain("backups");
    await store.close();

    // Every grant but one: the migration's preflight fails on the store check, naming the table.
    await admin.unsafe(`GRANT INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA ${schema} TO ${role}; REVOKE INSERT ON ${schema}.backups FROM ${role}`);
    const app = await openStore(asRole);
    expect((await app.probe()).unwritable).toEqual(["backups"]);
    const flags = await createFlags({ store: app, env: {} });
    const v1 = await armPool("v1");
    const migration = await createMigration({ v1, flags, store: app, v2: { name: "v2", handler: fixture("arm_handler.py"), size: 1, heartbeatMs: 0, onStderr: () => {} }, rollout: { plan: { shadowMs: 0 } } });
    const e = await rejection(migration.run());
    expect(e.message).toContain(`phase preflight failed, rolled back: store: ${asRole.replace(/\?.*/, "")}`);
    expect(e.message).toContain("this connection may not write backups");
    await migration.stop({ stopV2: true });
    await v1.stop();
    await flags.close();
    await app.close();
  }, 60_000);
});
