/**
 * Flags: the plan's defaults, validated atomic writes, synchronous reads,
 * precedence (env > config > store > default), a recorded history, and
 * changes made by another process reaching this one on both backends.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createFlags, FLAG_DEFAULTS, FlagError, type FlagUpdate, openStore } from "../../mod.ts";
import { fixture, rejection, spawnChild, tsCommand, waitFor } from "../helpers.ts";
import postgres from "postgres";
import { BACKENDS, PG_URL } from "../store/backends.ts";

describe("flags", () => {
  test("the defaults: V2 off with a share of 0, the kill switches on", async () => {
    const store = await openStore(":memory:");
    const flags = await createFlags({ store, env: {} });
    expect(flags.values()).toEqual({ pool_v2_enabled: false, circuit_breaker: true, pool_optimizer: true, pool_v2_share: 0 });
    expect(FLAG_DEFAULTS).toEqual(flags.values());
    expect(flags.explain("pool_v2_share")).toEqual({ flag: "pool_v2_share", value: 0, source: "default", stored: undefined });
    await flags.close();
    await store.close();
  });

  test("set validates and is atomic: an invalid value changes nothing, in memory or in the store", async () => {
    const store = await openStore(":memory:");
    const flags = await createFlags({ store, env: {} });
    await flags.set("pool_v2_share", 500);
    const cases: [Promise<unknown>, string][] = [
      [flags.set("pool_v2_share", 12_000), "flag pool_v2_share must be an integer from 0 to 10000 (basis points), received 12000"],
      [flags.set("pool_v2_share", 2.5), "flag pool_v2_share must be an integer from 0 to 10000 (basis points), received 2.5"],
      [flags.setSharePercent(120), "flag pool_v2_share must be a percentage from 0 to 100, received 120"],
      [flags.set("pool_v2_enabled", "yes" as never), 'flag pool_v2_enabled must be a boolean, received "yes"'],
      [flags.set("pool_v3_enabled" as never, true as never), "flag pool_v3_enabled must be one of the known flags (pool_v2_enabled, circuit_breaker, pool_optimizer, pool_v2_share), received true"],
    ];
    for (const [write, message] of cases) {
      const e = await rejection(write);
      expect([e._tag, e.message]).toEqual(["FlagError", message]);
    }
    expect(flags.share()).toBe(500);
    expect((await store.flags.get("pool_v2_share"))?.value).toBe(500);
    expect((await flags.history()).length).toBe(1);
    await flags.close();
    await store.close();
  });

  test("get of an unknown flag is a FlagError, never a value read from Object.prototype", async () => {
    const store = await openStore(":memory:");
    const flags = await createFlags({ store, env: {} });
    for (const name of ["__proto__", "toString", "constructor", "hasOwnProperty", "pool_v3_enabled"]) {
      let thrown: unknown = null;
      try {
        flags.get(name as never);
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(FlagError);
      expect((thrown as FlagError).message).toBe(`flag ${name} must be one of the known flags (pool_v2_enabled, circuit_breaker, pool_optimizer, pool_v2_share), received undefined`);
    }
    expect(flags.get("pool_v2_share")).toBe(0);
    await flags.close();
    await store.close();
  });

  test("reads are synchronous; the share reads as basis points and as a percentage", async () => {
    const store = await openStore(":memory:");
    const flags = await createFlags({ store, env: {} });
    await flags.setSharePercent(12.5);
    expect([flags.share(), flags.sharePercent(), flags.get("pool_v2_share")]).toEqual([1250, 12.5, 1250]);
    await flags.close();
    await store.close();
  });

  test("precedence: environment > config override > store > default", async () => {
    const store = await openStore(":memory:");
    await store.flags.set("pool_v2_share", 100);
    await store.flags.set("pool_v2_enabled", true);
    await store.flags.set("pool_optimizer", false);
    const flags = await createFlags({
      store,
      defaults: { circuit_breaker: false },
      overrides: { pool_v2_share: 200, pool_v2_enabled: false },
      env: { MOLT_FLAG_POOL_V2_SHARE: "25%" },
    });
    expect([flags.explain("pool_v2_share").source, flags.share()]).toEqual(["env", 2500]);
    expect([flags.explain("pool_v2_enabled").source, flags.get("pool_v2_enabled")]).toEqual(["config", false]);
    expect([flags.explain("pool_optimizer").source, flags.get("pool_optimizer")]).toEqual(["store", false]);
    expect([flags.explain("circuit_breaker").source, flags.get("circuit_breaker")]).toEqual(["default", false]);
    const written = await flags.set("pool_v2_share", 300);
    expect([written.value, written.stored, written.source]).toEqual([2500, 300, "env"]);
    await flags.close();
    await store.close();
  });

  test("a pin holds a flag in memory above every source, at once, until released", async () => {
    const store = await openStore(":memory:");
    const flags = await createFlags({ store, env: { MOLT_FLAG_POOL_V2_SHARE: "5000" } });
    const heard: FlagUpdate[] = [];
    flags.subscribe((u) => heard.push(u));
    flags.pin("pool_v2_share", 0);
    expect([flags.share(), flags.explain("pool_v2_share").source]).toEqual([0, "pin"]);
    await flags.set("pool_v2_share", 9000);
    expect(flags.share()).toBe(0);
    flags.unpin("pool_v2_share");
    flags.unpin("pool_v2_share");
    expect([flags.share(), flags.explain("pool_v2_share").source]).toEqual([5000, "env"]);
    expect(heard.map((u) => u.to)).toEqual([0, 5000]);
    expect(() => flags.pin("pool_v2_share", -1)).toThrow("flag pool_v2_share must be an integer from 0 to 10000 (basis points) (in pin), received -1");
    await flags.close();
    await store.close();
  });

  test("bad defaults, overrides and environment values are refused, naming where they came from", async () => {
    const store = await openStore(":memory:");
    const env = await rejection(createFlags({ store, env: { MOLT_FLAG_POOL_V2_SHARE: "lots" } }));
    expect(env.message).toBe('flag pool_v2_share must be an integer from 0 to 10000 (basis points) (in MOLT_FLAG_POOL_V2_SHARE), received "lots"');
    const override = await rejection(createFlags({ store, env: {}, overrides: { pool_v2_enabled: 1 as never } }));
    expect(override.message).toBe("flag pool_v2_enabled must be a boolean (in overrides), received 1");
    expect((await rejection(createFlags({ store, env: {}, pollMs: 0 }))).option).toBe("pollMs");
    expect((await rejection(createFlags({ env: {} } as never))).option).toBe("store");
    await store.close();
  });

  test("a stored value of the wrong type is an error naming the table and row", async () => {
    const store = await openStore(":memory:");
    await store.flags.set("pool_v2_share", "half");
    const e = await rejection(createFlags({ store, env: {} }));
    expect([e._tag, e.table, e.row]).toEqual(["StoreRowError", "flags", "key=pool_v2_share"]);
    await store.close();
  });

  test("each change is recorded with old and new value, who, why and when; subscribers hear it", async () => {
    let clock = 10;
    const store = await openStore(":memory:", { now: () => clock });
    const flags = await createFlags({ store, env: {} });
    const heard: FlagUpdate[] = [];
    const unsubscribe = flags.subscribe((u) => heard.push(u));
    await flags.set("pool_v2_enabled", true, { by: "alice", reason: "start canary" });
    clock = 20;
    await flags.set("pool_v2_share", 500, { by: "rollout", reason: "stage 1" });
    await flags.set("pool_v2_share", 500, { by: "rollout", reason: "again" });
    unsubscribe();
    await flags.set("pool_v2_share", 1000);
    expect(heard).toEqual([
      { flag: "pool_v2_enabled", from: false, to: true, origin: "local" },
      { flag: "pool_v2_share", from: 0, to: 500, origin: "local" },
    ]);
    const history = await flags.history("pool_v2_share");
    expect(history.map((c) => [c.oldValue, c.newValue, c.changedBy, c.reason, c.at])).toEqual([
      [null, 500, "rollout", "stage 1", 20], [500, 500, "rollout", "again", 20], [500, 1000, null, null, 20],
    ]);
    await flags.close();
    await flags.close();
    await store.close();
  });
});

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== null)(`flags across processes (${backend.name})`, () => {
    afterAll(() => backend.cleanup());

    test("a NUL character in who or why is refused the same way, before anything is written", async () => {
      const store = await openStore(backend.fresh());
      const flags = await createFlags({ store, env: {} });
      const cases: [Promise<unknown>, string][] = [
        [flags.set("pool_v2_enabled", true, { by: "a\u0000b" }), 'flags: set pool_v2_enabled: by must be a string without NUL characters, received "a\\u0000b"'],
        [flags.setSharePercent(5, { reason: "x\u0000" }), 'flags: set pool_v2_share: reason must be a string without NUL characters, received "x\\u0000"'],
        [flags.set("pool_v2_enabled", true, { reason: 5 as never }), "flags: set pool_v2_enabled: reason must be a string without NUL characters, received 5"],
      ];
      for (const [write, message] of cases) {
        const e = await rejection(write);
        expect([e._tag, e.message]).toEqual(["ConfigError", message]);
      }
      expect(await flags.history()).toEqual([]);
      expect(await store.flags.list()).toEqual([]);
      expect(flags.values()).toEqual(FLAG_DEFAULTS);
      await flags.set("pool_v2_enabled", true, { by: "ops", reason: "fine" });
      await flags.close();
      await store.close();
    });

    test("a flag set by another process reaches this one (SQLite: polling; PostgreSQL: LISTEN/NOTIFY)", async () => {
      const url = backend.fresh();
      const store = await openStore(url);
      const flags = await createFlags({ store, env: {}, pollMs: 25 });
      const heard: FlagUpdate[] = [];
      flags.subscribe((u) => heard.push(u));
      for (const [flag, value] of [["pool_v2_enabled", true], ["pool_v2_share", 2500]] as const) {
        const child = spawnChild(tsCommand(fixture("set-flag.ts"), url, flag, JSON.stringify(value)), { stderr: "pipe" });
        expect({ code: await child.exited, err: await new Response(child.stderr).text() }).toEqual({ code: 0, err: "" });
        await waitFor(() => flags.get(flag) === value, 3000);
        expect(flags.get(flag)).toBe(value);
      }
      expect(heard.map((u) => [u.flag, u.to, u.origin])).toEqual([["pool_v2_enabled", true, "remote"], ["pool_v2_share", 2500, "remote"]]);
      expect((await flags.history()).map((c) => c.reason)).toEqual(["from another process", "from another process"]);
      await flags.close();
      await store.close();
    }, 20_000);
  });
}

describe.skipIf(BACKENDS[1]!.skip !== null)("flags on PostgreSQL", () => {
  afterAll(() => BACKENDS[1]!.cleanup());

  test("after the LISTEN connection is lost and comes back, the flags are read again (a change in the gap is not missed)", async () => {
    const url = BACKENDS[1]!.fresh();
    const store = await openStore(url);
    const flags = await createFlags({ store, env: {} });
    const schema = new URL(url).searchParams.get("schema")!;
    const admin = postgres(PG_URL, { max: 1, onnotice: () => {} });
    try {
      // A write that sends no notification, then the listener's connection cut: only the re-subscription can reveal it.
      await admin.unsafe(`INSERT INTO ${schema}.flags (key, value, updated_at) VALUES ('pool_v2_share', '700', 1)`);
      const cut = await admin.unsafe("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query ILIKE 'listen %molt_flags%' AND pid <> pg_backend_pid()");
      expect(cut.length).toBeGreaterThan(0);
      await waitFor(() => flags.share() === 700, 5000);
      expect(flags.share()).toBe(700);
    } finally {
      await admin.end();
      await flags.close();
      await store.close();
    }
  }, 20_000);
});
