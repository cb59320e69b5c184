/**
 * The store contract: every accessor behaves the same on SQLite and
 * PostgreSQL, refuses what does not fit its table on the way in, and names
 * the table and row of anything that does not decode on the way out.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { openStore, type Store } from "../../mod.ts";
import { rejection, waitFor } from "../helpers.ts";
import { BACKENDS } from "./backends.ts";

for (const backend of BACKENDS) {
  describe.skipIf(backend.skip !== null)(`store contract (${backend.name})`, () => {
    afterAll(() => backend.cleanup());
    let clock = 1_000;
    const now = (): number => clock;
    const open = (url = backend.fresh()): Promise<Store> => openStore(url, { now });

    test("opening applies the migrations once and records them", async () => {
      const url = backend.fresh();
      const first = await open(url);
      expect(first.backend).toBe(backend.name);
      expect(first.applied.map((m) => m.version)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      await first.close();
      const second = await open(url);
      expect(second.applied).toEqual([]);
      expect((await second.migrations()).map((m) => [m.version, m.appliedAt])).toEqual([[1, 1_000], [2, 1_000], [3, 1_000], [4, 1_000], [5, 1_000], [6, 1_000], [7, 1_000], [8, 1_000]]);
      await second.close();
    });

    test("pool configurations: versions, one active, unique name and version", async () => {
      const store = await open();
      await store.poolConfigurations.save({ name: "v1", version: 1, config: { strategy: "basic" }, active: true });
      await store.poolConfigurations.save({ name: "v1", version: 2, config: { strategy: "basic", size: 4 } });
      clock = 2_000;
      expect(await store.poolConfigurations.activate("v1", 2)).toBe(true);
      expect(await store.poolConfigurations.activate("v1", 9)).toBe(false);
      const active = await store.poolConfigurations.active("v1");
      expect(active).toEqual({ name: "v1", version: 2, config: { strategy: "basic", size: 4 }, active: true, createdAt: 1_000, updatedAt: 2_000 });
      expect((await store.poolConfigurations.list("v1")).map((c) => [c.version, c.active])).toEqual([[1, false], [2, true]]);
      const dup = await rejection(store.poolConfigurations.save({ name: "v1", version: 2, config: {} }));
      expect([dup._tag, dup.failure]).toEqual(["StoreError", "conflict"]);
      expect(await store.poolConfigurations.deactivate("v1")).toBe(1);
      expect(await store.poolConfigurations.active("v1")).toBeUndefined();
      expect(await store.poolConfigurations.get("v1", 7)).toBeUndefined();
      await store.close();
    });

    test("pool metrics: ranges by pool, node and time; latest per node; prune", async () => {
      const store = await open();
      for (const [node, t, calls] of [["a", 10, 1], ["b", 20, 2], ["a", 30, 3], ["a", 40, 4]] as const) {
        await store.poolMetrics.record({ poolName: "v2", nodeId: node, timestamp: t, metrics: { calls } });
      }
      await store.poolMetrics.record({ poolName: "v1", nodeId: "a", timestamp: 15, metrics: { calls: 9 } });
      expect((await store.poolMetrics.range("v2", { from: 20, to: 40 })).map((m) => m.metrics.calls)).toEqual([2, 3]);
      expect((await store.poolMetrics.range("v2", { nodeId: "a" })).map((m) => m.timestamp)).toEqual([10, 30, 40]);
      expect((await store.poolMetrics.latest()).map((m) => [m.poolName, m.nodeId, m.timestamp])).toEqual([["v1", "a", 15], ["v2", "a", 40], ["v2", "b", 20]]);
      expect(await store.poolMetrics.prune(20)).toBe(2);
      expect((await store.poolMetrics.range("v2")).length).toBe(3);
      await store.close();
    });

    test("migration status: upsert by run and phase, listed in start order", async () => {
      const store = await open();
      await store.migrationStatus.record({ migrationId: "m1", phase: "preflight", status: "running", startedAt: 5, completedAt: null, metadata: {} });
      await store.migrationStatus.record({ migrationId: "m1", phase: "backup", status: "running", startedAt: 9, completedAt: null, metadata: {} });
      await store.migrationStatus.record({ migrationId: "m1", phase: "preflight", status: "completed", startedAt: 5, completedAt: 8, metadata: { disk: "ok" } });
      const phases = await store.migrationStatus.list("m1");
      expect(phases.map((p) => [p.phase, p.status, p.completedAt])).toEqual([["preflight", "completed", 8], ["backup", "running", null]]);
      expect(phases[0]!.metadata).toEqual({ disk: "ok" });
      const bad = await rejection(store.migrationStatus.record({ migrationId: "m1", phase: "x", status: "done" as never, startedAt: 1, completedAt: null, metadata: {} }));
      expect([bad._tag, bad.table, bad.direction]).toEqual(["StoreRowError", "migration_status", "write"]);
      expect((await store.migrationStatus.list()).length).toBe(2);
      await store.close();
    });

    test("flags: any JSON value, replaced in place with who and why", async () => {
      const store = await open();
      clock = 2_500;
      await store.flags.set("pool_v2_share_bp", 500);
      clock = 3_000;
      await store.flags.set("pool_v2_share_bp", 1000, { by: "ops", reason: "stage 2" });
      await store.flags.set("pool_v2_enabled", true);
      expect(await store.flags.get("pool_v2_share_bp")).toEqual({ key: "pool_v2_share_bp", value: 1000, updatedAt: 3_000, updatedBy: "ops", reason: "stage 2" });
      expect((await store.flags.list()).map((f) => f.key)).toEqual(["pool_v2_enabled", "pool_v2_share_bp"]);
      const bad = await rejection(store.flags.set("pool_v2_share_bp", Number.NaN));
      expect([bad._tag, bad.row, bad.direction]).toEqual(["StoreRowError", "key=pool_v2_share_bp", "write"]);
      expect((await store.flags.get("pool_v2_share_bp"))?.value).toBe(1000);
      expect(await store.flags.get("missing")).toBeUndefined();
      const changes = await store.flags.changes({ key: "pool_v2_share_bp" });
      expect(changes.map((c) => [c.oldValue, c.newValue, c.changedBy, c.reason, c.at])).toEqual([[null, 500, null, null, 2_500], [500, 1000, "ops", "stage 2", 3_000]]);
      expect(await store.flags.lastChangeId()).toBe(changes[1]!.id + 1);
      await store.close();
    });

    test("a flag change reaches a watcher on another connection of the same store", async () => {
      const url = backend.fresh();
      const writer = await open(url);
      const reader = await open(url);
      let heard = 0;
      const watch = await reader.flags.watch(() => heard++, { pollMs: 20, onError: (e) => { throw e; } });
      await writer.flags.set("pool_v2_enabled", true);
      await waitFor(() => heard > 0, 3000);
      expect(heard).toBeGreaterThan(0);
      expect((await reader.flags.get("pool_v2_enabled"))?.value).toBe(true);
      await watch.close();
      await writer.close();
      await reader.close();
    });

    test("decisions: recorded with states, shares, reason and inputs; filtered by kind", async () => {
      const store = await open();
      const base = { rolloutId: "r1", stateFrom: "active.stage", stateTo: "active.stage", shareFrom: 500, shareTo: 500, reason: "", inputs: {} };
      await store.decisions.record({ ...base, at: 1, kind: "judged", inputs: { verdict: "pass", rules: [{ rule: "v2_error_rate", value: 0.01 }] } });
      await store.decisions.record({ ...base, at: 2, kind: "advanced", shareTo: 1000, reason: "stage 1 passed" });
      await store.decisions.record({ ...base, rolloutId: "r2", at: 3, kind: "judged" });
      const all = await store.decisions.list("r1");
      expect(all.map((d) => [d.kind, d.shareFrom, d.shareTo])).toEqual([["judged", 500, 500], ["advanced", 500, 1000]]);
      expect(all[0]!.inputs).toEqual({ verdict: "pass", rules: [{ rule: "v2_error_rate", value: 0.01 }] });
      expect((await store.decisions.list("r1", { kinds: ["advanced"] })).map((d) => d.reason)).toEqual(["stage 1 passed"]);
      expect((await store.decisions.list("r1", { afterId: all[0]!.id })).length).toBe(1);
      await store.close();
    });

    test("operator commands: queued with an id, pending until completed once, listed newest first", async () => {
      const store = await open();
      const a = await store.commands.enqueue({ target: "m1", command: "pause", args: { reason: "lunch" }, requestedBy: "ops" });
      const b = await store.commands.enqueue({ target: "m1", command: "resume" });
      await store.commands.enqueue({ target: "m2", command: "promote" });
      expect(b).toBeGreaterThan(a);
      expect((await store.commands.pending("m1")).map((c) => [c.id, c.command, c.args])).toEqual([[a, "pause", { reason: "lunch" }], [b, "resume", {}]]);
      expect(await store.commands.complete(a, "applied", { state: "paused" })).toBe(true);
      expect(await store.commands.complete(a, "failed", { error: "again" })).toBe(false);
      expect(await store.commands.get(a)).toMatchObject({ status: "applied", result: { state: "paused" }, requestedBy: "ops" });
      expect((await store.commands.pending("m1")).map((c) => c.id)).toEqual([b]);
      expect((await store.commands.list("m1")).map((c) => c.id)).toEqual([b, a]);
      await store.close();
    });

    test("validation results: recorded per target with their report", async () => {
      const store = await open();
      await store.validations.record({ target: "m1", kind: "equivalence", verdict: "pass", report: { kind: "equivalence", passed: 8, failed: 0, cases: [] } });
      await store.validations.record({ target: "m1", kind: "load", verdict: "fail", report: { kind: "load" } });
      await store.validations.record({ target: "m2", kind: "load", verdict: "pass", report: { kind: "load" } });
      expect((await store.validations.list("m1")).map((v) => [v.kind, v.verdict])).toEqual([["equivalence", "pass"], ["load", "fail"]]);
      expect((await store.validations.list("m1"))[0]!.report).toEqual({ kind: "equivalence", passed: 8, failed: 0, cases: [] });
      await store.close();
    });

    test("shadow mismatches: recorded with both values, newest first", async () => {
      const store = await open();
      await store.shadowMismatches.record({ command: "echo", servingArm: "v1", shadowArm: "v2", serving: { a: 1 }, shadow: { a: 2 }, at: 5 });
      await store.shadowMismatches.record({ command: "echo", servingArm: "v2", shadowArm: "v1", serving: "x", shadow: { error: "PythonError" }, at: 9 });
      await store.shadowMismatches.record({ command: "other", servingArm: "v1", shadowArm: "v1", serving: 1, shadow: 2, at: 7 });
      expect((await store.shadowMismatches.list({ command: "echo" })).map((m) => m.at)).toEqual([9, 5]);
      expect((await store.shadowMismatches.list({ limit: 1 }))[0]?.shadow).toEqual({ error: "PythonError" });
      await store.shadowMismatches.record({ command: "echo", servingArm: "v1", shadowArm: "v2", serving: 1, shadow: 3, at: 11, rolloutId: "r1" });
      await store.shadowMismatches.record({ command: "other", servingArm: "v1", shadowArm: "v2", serving: 1, shadow: 4, at: 12, rolloutId: "r2" });
      expect((await store.shadowMismatches.list({ rolloutId: "r1" })).map((m) => [m.at, m.rolloutId])).toEqual([[11, "r1"]]);
      expect((await store.shadowMismatches.list({ rolloutId: "r2", command: "echo" }))).toEqual([]);
      expect((await store.shadowMismatches.list({ command: "echo" })).map((m) => m.rolloutId ?? null)).toEqual(["r1", null, null]);
      await store.close();
    });

    test("programs: content hash independent of key order; put replaces; delete", async () => {
      const store = await open();
      const a = await store.programs.put("qa", { signature: "question -> answer", handler: "h" });
      clock = 4_000;
      const b = await store.programs.put("qa", { handler: "h", signature: "question -> answer" });
      expect(b.contentHash).toBe(a.contentHash);
      expect([b.createdAt, b.updatedAt]).toEqual([a.createdAt, 4_000]);
      const c = await store.programs.put("qa", { handler: "h2", signature: "question -> answer" });
      expect(c.contentHash).not.toBe(a.contentHash);
      expect((await store.programs.list()).map((p) => p.id)).toEqual(["qa"]);
      expect(await store.programs.delete("qa")).toBe(true);
      expect(await store.programs.delete("qa")).toBe(false);
      await store.close();
    });

    test("journal and snapshots: ordered ranges, a taken sequence number is a conflict, truncate and prune", async () => {
      const store = await open();
      for (let seq = 1; seq <= 5; seq++) await store.journal.append({ actorId: "a", seq, event: { type: "tick", now: seq * 10 }, at: seq });
      await store.journal.append({ actorId: "b", seq: 1, event: { type: "tick" }, at: 1 });
      expect((await store.journal.read("a", { afterSeq: 1, untilSeq: 3 })).map((e) => e.seq)).toEqual([2, 3]);
      expect(await store.journal.lastSeq("a")).toBe(5);
      expect(await store.journal.lastSeq("nobody")).toBe(0);
      expect(await store.journal.actors()).toEqual(["a", "b"]);
      const taken = await rejection(store.journal.append({ actorId: "a", seq: 3, event: { type: "tick" }, at: 9 }));
      expect([taken._tag, taken.failure]).toEqual(["StoreError", "conflict"]);
      const untyped = await rejection(store.journal.append({ actorId: "a", seq: 6, event: { now: 1 } as never, at: 9 }));
      expect([untyped._tag, untyped.table]).toEqual(["StoreRowError", "journal"]);
      for (const seq of [0, 3]) await store.snapshots.save({ actorId: "a", seq, machine: "m", machineVersion: "1", snapshot: { seq }, at: seq });
      expect((await store.snapshots.latest("a"))?.seq).toBe(3);
      expect((await store.snapshots.latest("a", 2))?.seq).toBe(0);
      expect(await store.journal.truncate("a", 3)).toBe(3);
      expect(await store.snapshots.prune("a", 3)).toBe(1);
      expect((await store.journal.read("a")).map((e) => e.seq)).toEqual([4, 5]);
      expect((await store.snapshots.list("a")).map((s) => s.seq)).toEqual([3]);
      await store.close();
    });

    test("backups: collect, write (also to a file), list, read", async () => {
      const store = await open();
      await store.poolConfigurations.save({ name: "v1", version: 1, config: { size: 2 }, active: true });
      await store.flags.set("pool_v2_enabled", false);
      await store.programs.put("qa", { signature: "q -> a" });
      await store.poolMetrics.record({ poolName: "v1", nodeId: "n", timestamp: 1, metrics: { calls: 3 } });
      const document = await store.backups.collect({ sessions: [{ id: "s1", arm: "v1" }] });
      const file = join(tmpdir(), `molt-backup-${process.pid}-${backend.name}`, "backup.json");
      const written = await store.backups.write(document, { reason: "before migration m1", file });
      const fromFile = JSON.parse(readFileSync(file, "utf8"));
      expect(fromFile.document).toEqual(document);
      expect((await store.backups.list()).map((b) => [b.id, b.reason, b.file])).toEqual([[written.id, "before migration m1", file]]);
      const read = await store.backups.read(written.id);
      expect(read?.document).toEqual(document);
      expect(read?.document.sessions).toEqual([{ id: "s1", arm: "v1" }]);
      expect(read?.document.metricSummaries.map((m) => m.metrics)).toEqual([{ calls: 3 }]);
      expect(await store.backups.read("nope")).toBeUndefined();
      expect(await store.backups.delete(written.id)).toBe(true);
      rmSync(dirname(file), { recursive: true, force: true });
      await store.close();
    });

    test("a row that does not decode is an error naming its table and row", async () => {
      const url = backend.fresh();
      const store = await open(url);
      await store.poolConfigurations.save({ name: "v1", version: 1, config: { size: 2 } });
      await store.flags.set("f", 1);
      await backend.exec(url, "UPDATE pool_configurations SET config = '[1, 2]'");
      await backend.exec(url, `UPDATE flags SET key = ''`);
      const config = await rejection(store.poolConfigurations.get("v1", 1));
      expect([config._tag, config.table, config.row, config.direction]).toEqual(["StoreRowError", "pool_configurations", "name=v1,version=1", "read"]);
      const flag = await rejection(store.flags.list());
      expect([flag._tag, flag.table, flag.row]).toEqual(["StoreRowError", "flags", "key="]);
      await store.close();
    });

    test("a closed store refuses with StoreError closed", async () => {
      const store = await open();
      await store.close();
      await store.close();
      const e = await rejection(store.flags.list());
      expect([e._tag, e.failure]).toEqual(["StoreError", "closed"]);
    });
  });
}

describe("store locations", () => {
  test("malformed URLs are StoreError bad_url naming what is allowed", async () => {
    for (const url of ["", "mysql://x/y", "sqlite:", "postgres://", "postgres://h/db?schema=Bad-Name"]) {
      const e = await rejection(openStore(url));
      expect([e._tag, e.failure]).toEqual(["StoreError", "bad_url"]);
    }
  });

  test("an unreachable server is StoreError unreachable, and the password never appears", async () => {
    const e = await rejection(openStore("postgres://molt:secret@127.0.0.1:1/molt", { connectTimeoutMs: 1000 }));
    expect([e._tag, e.failure, e.backend]).toEqual(["StoreError", "unreachable", "postgres"]);
    expect(e.message).toContain("postgres://molt:***@127.0.0.1:1/molt");
    expect(e.message).not.toContain("secret");
  });

  test("options are validated", async () => {
    const e = await rejection(openStore(":memory:", { maxConnections: 0 }));
    expect(e.message).toBe("store: maxConnections must be a positive integer, received 0");
    const unknown = await rejection(openStore(":memory:", { timeout: 1 } as never));
    expect(unknown.option).toBe("timeout");
  });
});
