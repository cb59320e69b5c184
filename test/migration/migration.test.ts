/**
 * The migration run on real pools: preflight that really checks, a backup,
 * V2 deployed and verified, the rollout to 100%, and decommission only when
 * V2 has held everything long enough; any failure rolls back and says why;
 * a restarted process resumes where the migration was.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { createFlags, createMigration, migrationReport, openStore, requestEmergencyRollback } from "../../mod.ts";
import { MIGRATION_PHASES } from "../../machines/mod.ts";
import { readStatus } from "../../src/cli/status.ts";
import { fixture, rejection, sleep, waitFor } from "../helpers.ts";
import { armPool } from "../routing/helpers.ts";
import { MIN, recordingSetup, setup, v2Options } from "./helpers.ts";
import { QUICK_PLAN } from "../rollout/helpers.ts";
import { BACKENDS } from "../store/backends.ts";

const sqlite = BACKENDS[0]!;
afterAll(() => sqlite.cleanup());

describe("migration run", () => {
  test("preflight, backup, deploy, verify, then the first stage; every phase recorded", async () => {
    const url = sqlite.fresh();
    const m = await setup(url, v2Options());
    const status = await m.migration.run();
    expect([status.state, status.rollout?.stage, m.flags.share()]).toEqual(["rollout", 1, 5000]);
    // Verification's probes (a failing call on purpose among them) are not V2's record: only the one call that proves telemetry flows.
    expect([m.migration.v2!.metrics().calls, m.migration.v2!.metrics().calls - m.migration.v2!.metrics().outcomes.ok]).toEqual([1, 0]);
    // The clock stands still in this test, so order the phases as the machine runs them.
    const phases = (await m.store.migrationStatus.list("migration")).sort((a, b) => MIGRATION_PHASES.indexOf(a.phase as never) - MIGRATION_PHASES.indexOf(b.phase as never));
    expect(phases.map((p) => [p.phase, p.status])).toEqual([
      ["preflight", "completed"], ["backup", "completed"], ["deployShadow", "completed"], ["verify", "completed"], ["rollout", "running"],
    ]);
    const checks = (phases[0]!.metadata as { checks: { check: string; ok: boolean; detail: string }[] }).checks;
    expect(checks.map((c) => [c.check, c.ok])).toEqual([["runtime", true], ["v1_serving", true], ["store", true], ["disk_space", true], ["v2_interpreter", true], ["v2_handler_imports", true]]);
    expect(checks.find((c) => c.check === "store")!.detail).toMatch(/^sqlite 3\.\d+\.\d+ at .*molt\.db, reachable; molt's tables writable$/);
    const verify = (phases[3]!.metadata as { checks: { check: string; detail: string }[] }).checks;
    expect(verify.map((c) => c.check)).toEqual(["workers_ready", "typed_error_and_survival", "telemetry", "latency_probe"]);
    expect(verify[3]!.detail).toMatch(/^ping median: V1 [\d.]+ ms, V2 [\d.]+ ms over 20 calls each; limit [\d.]+ ms \(V1 × 2 \+ 5 ms\)$/);
    const backups = await m.store.backups.list();
    expect(backups[0]!.reason).toBe("before migration migration");
    expect(existsSync(backups[0]!.file!)).toBe(true);
    expect((await m.store.poolConfigurations.list()).map((c) => [c.name, c.active])).toEqual([["v1", true], ["v2", false]]);
    // The backup holds V1's configuration (saved before it was taken) and the migration's machine as it was then.
    const before = (await m.store.backups.read(backups[0]!.id))!.document;
    expect(before.poolConfigurations.map((c) => [c.name, c.active, c.config.strategy])).toEqual([["v1", true, "basic"]]);
    expect(before.machines!.map((x) => x.actorId)).toContain("migration:migration");
    // And every flag as the migration saw it, with where its value came from (a record: env and pins are not restored).
    expect(before.effectiveFlags).toEqual([
      { flag: "pool_v2_enabled", value: false, source: "default" }, { flag: "circuit_breaker", value: true, source: "default" },
      { flag: "pool_optimizer", value: true, source: "default" }, { flag: "pool_v2_share", value: 0, source: "default" },
    ]);
    await m.close();
  }, 30_000);

  test("every window both arms served goes to pool_metrics under the migration and this process, the last one at stop", async () => {
    const m = await recordingSetup(sqlite.fresh());
    await m.migration.run();
    const { served, recorded } = m;
    await m.traffic(40);
    // Real windows: the calls show up once theirs has ended.
    expect(await waitFor(async () => (await recorded()) >= served(), 15_000)).toBe(true);
    const [row] = await m.store.poolMetrics.range("v2");
    expect(row!.nodeId).toMatch(/-\d+$/);
    expect(row!.metrics).toMatchObject({ target: "migration", arm: "v2", fallbacks: 0 });
    // Calls in the window under way when the migration stops are written as it stops.
    const before = await recorded();
    const sent = served();
    await m.traffic(30);
    await m.migration.stop();
    expect((await recorded()) - before).toBe(served() - sent);
    await Promise.all([m.migration.v2!.stop(), m.v1.stop()]);
    await m.flags.close();
    await m.store.close();
  }, 30_000);

  test("a migration stopped just after a window ended, before its timer cut it, still writes that window whole", async () => {
    const m = await recordingSetup(sqlite.fresh());
    await m.migration.run();
    await m.traffic(40);
    const end = (Math.floor(Date.now() / 500) + 1) * 500;
    // Stop within a few ms after the traffic's window ended: its cut is due 20 ms after the end.
    while (Date.now() < end) await sleep(Math.max(0, end - Date.now() - 1));
    await m.migration.stop();
    expect(await m.recorded()).toBe(m.served());
    await Promise.all([m.migration.v2!.stop(), m.v1.stop()]);
    await m.flags.close();
    await m.store.close();
  }, 30_000);

  test("a preflight check that fails rolls back before anything changed, and says which", async () => {
    const m = await setup(sqlite.fresh(), v2Options("", { python: "/nonexistent/python3" }));
    const e = await rejection(m.migration.run());
    expect(e._tag).toBe("MigrationError");
    // The interpreter named, and what went wrong with it (it once read "[object Object]").
    expect(e.message).toContain('phase preflight failed, rolled back: v2_interpreter: python interpreter "/nonexistent/python3" was not found');
    expect(m.migration.status()).toMatchObject({ state: "rolledBack", failedPhase: "preflight" });
    expect(m.migration.v2).toBeNull();
    expect(m.flags.share()).toBe(0);
    const [preflight] = await m.store.migrationStatus.list("migration");
    expect(preflight).toMatchObject({ phase: "preflight", status: "failed" });
    await m.close();
  }, 30_000);

  test("a V2 handler that fails to import fails preflight's v2_handler_imports with its traceback, and molt status shows the failure", async () => {
    const m = await setup(sqlite.fresh(), v2Options("", { handler: fixture("import_error_handler.py") }));
    const e = await rejection(m.migration.run());
    expect(e._tag).toBe("MigrationError");
    expect(e.message).toContain("v2_handler_imports: worker preflight failed to start (exited)");
    expect(e.message).toContain("ModuleNotFoundError: No module named 'molt_no_such_dependency'");
    expect(await readStatus(m.store, "migration")).toMatchObject({ phase: "rolledBack", failed: { phase: "preflight", reason: expect.stringContaining("v2_handler_imports") } });
    await m.close();
  }, 30_000);

  test("preflight checks free space where molt writes files, on any store: too little fails it", async () => {
    const m = await setup(":memory:", v2Options(), { minFreeBytes: Number.MAX_SAFE_INTEGER });
    const e = await rejection(m.migration.run());
    expect(e.message).toMatch(/phase preflight failed, rolled back: disk_space: \d+ bytes free in \/.+, below 9007199254740991/);
    await m.close();
  }, 30_000);

  test("verification fails a V2 slower than V1 beyond the ratio and the floor, with both medians", async () => {
    // The probe is a call whose V2 handler sleeps 50 ms; V1's answers at once.
    const m = await setup(sqlite.fresh(), v2Options(), { verify: { probe: { command: "slow", args: { x: 1, sleep: 0.05 } }, calls: 6 } });
    const e = await rejection(m.migration.run());
    expect(e.message).toMatch(/phase verify failed, rolled back: latency_probe: V2 is slower than V1: slow median: V1 [\d.]+ ms, V2 [\d.]+ ms over 6 calls each; limit [\d.]+ ms \(V1 × 2 \+ 5 ms\)/);
    expect(m.migration.status()).toMatchObject({ state: "rolledBack", failedPhase: "verify" });
    await m.close();
    // The same probe with a floor above the sleep passes.
    const relaxed = await setup(sqlite.fresh(), v2Options(), { verify: { probe: { command: "slow", args: { x: 1, sleep: 0.05 } }, calls: 6, latencyFloorMs: 500 } });
    expect((await relaxed.migration.run()).state).toBe("rollout");
    await relaxed.close();
  }, 60_000);

  test("verification options are validated when the migration is created", async () => {
    const m = await setup(sqlite.fresh(), v2Options());
    const { createMigration } = await import("../../mod.ts");
    const base = { v1: m.v1, v2: v2Options(), flags: m.flags, store: m.store, migrationId: "other" };
    expect((await rejection(createMigration({ ...base, verify: { latencyRatio: 0.5 } }))).message).toBe("migration: verify.latencyRatio must be a finite number of at least 1, received 0.5");
    expect((await rejection(createMigration({ ...base, verify: { probe: { command: "" } } }))).option).toBe("verify.probe");
    expect((await rejection(createMigration({ ...base, verify: { calls: 2 } }))).option).toBe("verify.calls");
    expect(() => m.migration.serve({ pollMs: 2 ** 31 })).toThrow("migration: serve.pollMs must be a positive integer of milliseconds, at most 2147483647");
    await m.close();
  });

  test("every option is checked when the migration is created, before anything is recorded", async () => {
    const store = await openStore(sqlite.fresh());
    const flags = await createFlags({ store, env: {} });
    const v1 = await armPool("v1");
    const base = { v1, v2: v2Options(), flags, store };
    const cases: [Record<string, unknown>, string, string][] = [
      [{ v1: {} }, "v1", "migration: v1 must be a Pool from createPool(), received {}"],
      [{ v1: undefined }, "v1", "migration: v1 must be a Pool from createPool(), received undefined"],
      [{ v2: undefined }, "options", "pool: options must be an object with at least { name, handler }, received undefined"],
      [{ v2: v2Options("", { size: -1 }) }, "size", 'pool "v2": size must be a positive integer, received -1'],
      [{ v2: v2Options("", { startTimeoutMs: 2 ** 31 }) }, "startTimeoutMs", 'worker "v2-0": startTimeoutMs must be a positive integer of milliseconds, at most 2147483647'],
      [{ v2: v2Options("", { name: "v1" }) }, "v2.name", 'migration: v2.name must be a name other than v1\'s ("v1"), received "v1"'],
      [{ flags: undefined }, "flags", "migration: flags must be Flags from createFlags(), received undefined"],
      [{ rollout: { plan: { shadowMs: -1 } } }, "rollout.plan.shadowMs", "migration: rollout.plan.shadowMs must be a non-negative integer of milliseconds"],
      // A shadow phase with nothing to compare would hold the rollout in shadow forever.
      [{ rollout: { plan: { shadowMs: 60_000 } } }, "rollout.plan.shadowMs", "migration: rollout.plan.shadowMs must be 0 when router.shadow is not set"],
      [{ rollout: { plan: { shadowMs: 60_000 } }, router: { shadow: { sampleRate: 0, commands: ["work"] } } }, "rollout.plan.shadowMs", "migration: rollout.plan.shadowMs must be 0 when router.shadow samples nothing (sampleRate 0)"],
      [{ rollout: { thresholds: { maxErrorRate: 2 } } }, "rollout.thresholds.maxErrorRate", "migration: rollout.thresholds.maxErrorRate must be a number between 0 and 1 (exclusive), received 2"],
      [{ rollout: { noiseFloor: 1 } }, "rollout.noiseFloor", "migration: rollout.noiseFloor must be a number from 0 to 1 (exclusive), received 1"],
      [{ rollout: { maxTickFailures: 0 } }, "rollout.maxTickFailures", "migration: rollout.maxTickFailures must be a positive integer, received 0"],
      [{ rollout: { rollback: { keepWarm: "no" } } }, "rollout.rollback.keepWarm", 'migration: rollout.rollback.keepWarm must be a boolean, received "no"'],
      [{ rollout: { v1 } }, "v1", "migration: rollout: v1 must be one of the known options"],
      [{ router: { fallback: "v3" } }, "router.fallback", 'migration: router.fallback must be "v1" or "none", received "v3"'],
      [{ router: { shadow: { sampleRate: 2, commands: [] } } }, "router.shadow.sampleRate", "migration: router.shadow.sampleRate must be a number from 0 to 1, received 2"],
      [{ router: { v2: v1 } }, "v2", "migration: router: v2 must be one of the known options"],
      // The migration's id is its router's rollout: another would file its shadow mismatches elsewhere.
      [{ router: { rolloutId: "other" } }, "rolloutId", "migration: router: rolloutId must be one of the known options"],
      [{ minFreeBytes: -1 }, "minFreeBytes", "migration: minFreeBytes must be a non-negative integer, received -1"],
      [{ decommissionAfterMs: Number.NaN }, "decommissionAfterMs", "migration: decommissionAfterMs must be a non-negative integer of milliseconds, at most 2147483647 (the longest a timer can wait, about 24.8 days), received NaN"],
      [{ decommissionAfterMs: -1 }, "decommissionAfterMs", "migration: decommissionAfterMs must be a non-negative integer of milliseconds"],
      [{ recordWindowMs: 0 }, "recordWindowMs", "migration: recordWindowMs must be a positive integer of milliseconds"],
      [{ workDir: "" }, "workDir", 'migration: workDir must be a non-empty string, received ""'],
      [{ now: 5 }, "now", "migration: now must be a function returning epoch milliseconds, received 5"],
    ];
    for (const [extra, option, message] of cases) {
      const e = await rejection(createMigration({ ...base, ...extra } as never));
      expect([e._tag, e.option]).toEqual(["ConfigError", option]);
      expect(e.message).toStartWith(message);
    }
    expect(await store.migrationStatus.list()).toEqual([]);
    expect(await store.journal.actors()).toEqual([]);
    expect(await store.snapshots.list("migration:migration")).toEqual([]);
    expect(await store.backups.list()).toEqual([]);
    await v1.stop();
    await flags.close();
    await store.close();
  });

  test("to 100%, then decommission only once V2 held it for a whole window with no V1 call", async () => {
    const m = await setup(sqlite.fresh(), v2Options());
    await m.rollOut();
    expect(m.migration.status().state).toBe("decommission");
    // The rollout phase took from its start to the promotion: whole simulated minutes, not the moment of promotion.
    const phase = (await m.store.migrationStatus.list("migration")).find((p) => p.phase === "rollout")!;
    expect([phase.status, phase.completedAt! - phase.startedAt]).toEqual(["completed", 2 * MIN]);
    expect((await rejection(m.migration.decommission())).message).toContain("V2 has held 100% with no V1 call for 0 ms of the 600000 ms required");
    m.advance(10 * MIN);
    await m.v1.execute("work", { x: 1 });
    // A V1 call restarts the quiet window.
    expect((await rejection(m.migration.decommission())).message).toContain("for 0 ms of the 600000 ms required");
    m.advance(10 * MIN);
    // Immediately before: a V2 worker that does not answer its health check stops it, and says which.
    const pid = m.migration.v2!.metrics().workers[0]!.pid;
    process.kill(pid, "SIGSTOP");
    const unhealthy = await rejection(m.migration.decommission()).finally(() => process.kill(pid, "SIGCONT"));
    expect(unhealthy.message).toMatch(new RegExp(`v2_workers_healthy: \\d of \\d V2 workers answered their health check; \\S+ \\(pid ${pid}\\)`));
    expect(m.migration.status().state).toBe("decommission");
    // The pool may have replaced the worker that did not answer: once V2 is whole again, V1 goes.
    expect(await waitFor(() => m.migration.v2!.metrics().ready === m.migration.v2!.metrics().size, 10_000)).toBe(true);
    expect((await m.migration.decommission()).state).toBe("complete");
    await m.close();
  }, 60_000);

  test("decommission archives V1 with a manifest, stops it, retires the flags, marks it inactive and removes temporary files; a dry run changes nothing", async () => {
    const url = sqlite.fresh();
    const m = await setup(url, v2Options());
    await m.rollOut();
    m.advance(10 * MIN);
    const v1Pids = m.v1.metrics().workers.map((w) => w.pid);
    const plan = await m.migration.decommissionPlan();
    expect(plan.ready).toBe(true);
    expect(plan.checks.map((c) => [c.check, c.status])).toEqual([
      ["v2_promoted", "pass"], ["v2_held_alone", "pass"], ["v2_workers_healthy", "pass"], ["v2_breaker_closed", "pass"], ["last_judgement_passed", "pass"],
    ]);
    expect(plan.cleanup.map((c) => [c.kind, c.detail])).toEqual([
      ...v1Pids.map(() => ["process", "to be stopped (drained first)"]),
      ["temp_file", "to be removed"],
      ["flag", "to be retired: kept at true, the change recorded"],
      ["flag", "to be retired: kept at 100%, the change recorded"],
      ["configuration", "to be marked inactive"],
    ]);
    expect([m.v1.state, existsSync(plan.archiveDir)]).toEqual(["serving", false]);

    // Asked twice at once (the API and a queued command): one decommission.
    const [done, twice] = await Promise.all([m.migration.decommission(), m.migration.decommission()]);
    expect([done.state, twice.state]).toEqual(["complete", "complete"]);
    expect((await m.store.backups.list()).filter((b) => b.reason.startsWith("decommission of v1"))).toHaveLength(1);
    expect(m.v1.state).toBe("stopped");
    // With V1 gone, nothing may send traffic back to it: not an emergency, not an abort, not the CLI's store write.
    for (const refused of [await rejection(m.migration.emergencyRollback("pager")), await rejection(m.migration.abort()), await rejection(requestEmergencyRollback(m.store, "migration"))]) {
      expect(refused._tag).toBe("MigrationError");
    }
    expect([m.flags.share(), (await m.store.flags.get("pool_v2_share"))?.value, m.migration.v2!.state]).toEqual([10_000, 10_000, "serving"]);
    expect((await m.store.poolConfigurations.list()).map((c) => [c.name, c.active])).toEqual([["v1", false], ["v2", true]]);
    const before = (await m.store.backups.list()).find((b) => b.reason.startsWith("decommission of v1"))!;
    expect(existsSync(before.file!)).toBe(true);
    expect(existsSync(join(plan.archiveDir, "..", "tmp"))).toBe(false);
    // The flags that steered the migration are retired where they route everything to V2, and say so.
    const retired = (await m.flags.history()).filter((c) => c.reason?.startsWith("retired at the decommission of v1"));
    expect(retired.map((c) => c.key).sort()).toEqual(["pool_v2_enabled", "pool_v2_share"]);

    // The archive: every file the manifest names, with the size and checksum it has on disk.
    const manifest = JSON.parse(readFileSync(join(plan.archiveDir, "manifest.json"), "utf8")) as { files: { path: string; bytes: number; sha256: string }[] };
    expect(manifest.files.map((f) => f.path)).toEqual(["configuration.json", "decisions.json", "metrics.json", "flags.json", "stderr.json", "cleanup.json"]);
    for (const f of manifest.files) {
      const bytes = readFileSync(join(plan.archiveDir, f.path));
      expect([bytes.length, createHash("sha256").update(bytes).digest("hex")]).toEqual([f.bytes, f.sha256]);
    }
    const read = (name: string): unknown => JSON.parse(readFileSync(join(plan.archiveDir, name), "utf8"));
    expect(read("configuration.json")).toMatchObject({ resolved: { name: "v1", strategy: "basic", size: v1Pids.length, worker: { env: { MOLT_ARM: "(set)" } } }, stored: [{ name: "v1", version: 1 }] });
    const metrics = read("metrics.json") as { poolName: string; metrics: { arm: string; calls: number } }[];
    expect(metrics.length).toBeGreaterThan(0);
    expect(metrics.every((e) => e.poolName === "v1" && e.metrics.arm === "v1")).toBe(true);
    expect(metrics.reduce((n, e) => n + e.metrics.calls, 0)).toBe(m.v1.stats().calls);
    const decisions = read("decisions.json") as { kind: string }[];
    expect(decisions.map((d) => d.kind)).toEqual((await m.store.decisions.list("migration")).map((d) => d.kind));
    expect(decisions.map((d) => d.kind)).toContain("promoted");
    expect(read("flags.json")).toMatchObject({ values: { pool_v2_share: 10_000, pool_v2_enabled: true } });
    const stderr = read("stderr.json") as { pid: number; exited: boolean; lines: string[] }[];
    expect(stderr.map((w) => [w.pid, w.exited])).toEqual(v1Pids.map((pid) => [pid, true]));
    const cleanup = read("cleanup.json") as { kind: string; what: string; detail: string }[];
    expect(cleanup.filter((c) => c.kind === "process").map((c) => c.detail)).toEqual(v1Pids.map(() => expect.stringMatching(/^stopped \(exit code \d+/)));
    expect(cleanup.filter((c) => c.kind === "temp_file").map((c) => [c.what, c.detail])).toEqual([["preflight.json", "removed"]]);
    // The phase's record names the archive and its manifest's checksum: the report lists them.
    const phase = (await m.store.migrationStatus.list("migration")).find((p) => p.phase === "decommission")!;
    expect(phase.metadata).toMatchObject({ archive: { dir: plan.archiveDir, manifest: { path: join(plan.archiveDir, "manifest.json"), sha256: expect.stringMatching(/^[0-9a-f]{64}$/) } } });
    expect(phase.metadata).toMatchObject({ problems: [] });
    expect((await m.migration.decommission()).state).toBe("complete");
    expect((await m.migration.decommissionPlan()).checks).toEqual([{ check: "v1_present", status: "fail", ok: false, detail: "V1 was decommissioned already" }]);
    await m.close();
  }, 60_000);

  test("an archive that cannot be written before V1 stops refuses and leaves V1 serving; a step that fails after it stopped is recorded, never rolled back to a V1 that is gone", async () => {
    const m = await setup(sqlite.fresh(), v2Options());
    await m.rollOut();
    m.advance(10 * MIN);
    const { archiveDir } = await m.migration.decommissionPlan();
    // A directory where a file must go: the write fails as a full or read-only disk would.
    mkdirSync(join(archiveDir, "configuration.json"), { recursive: true });
    const refused = await rejection(m.migration.decommission());
    expect(refused).toMatchObject({ _tag: "MigrationError", command: "decommission", state: "decommission" });
    expect(refused.message).toContain("V1's archive could not be written, so V1 stays: ");
    expect([m.migration.status().state, m.v1.state, m.flags.share()]).toEqual(["decommission", "serving", 10_000]);
    rmSync(join(archiveDir, "configuration.json"), { recursive: true });

    mkdirSync(join(archiveDir, "stderr.json"), { recursive: true });
    expect((await m.migration.decommission()).state).toBe("complete");
    expect([m.v1.state, m.flags.share()]).toEqual(["stopped", 10_000]);
    const phase = (await m.store.migrationStatus.list("migration")).find((p) => p.phase === "decommission")!;
    const meta = phase.metadata as { problems: string[]; archive: { files: { path: string }[] } };
    expect(meta.problems).toEqual([expect.stringMatching(/^archive stderr\.json: /)]);
    expect(meta.archive.files.map((f) => f.path.slice(archiveDir.length + 1))).toEqual(["configuration.json", "decisions.json", "metrics.json", "flags.json", "cleanup.json"]);
    const report = await migrationReport(m.store, "migration");
    expect(report).toContain("Steps that failed after V1 had stopped (V1 stays stopped; finish these by hand):\n\n- archive stderr.json: ");
    await m.close();
  }, 60_000);

  test("a V2 that fails its rollout rolls the migration back", async () => {
    const m = await setup(sqlite.fresh(), v2Options("errors"));
    await m.rollOut(60);
    expect(m.migration.status()).toMatchObject({ state: "rolledBack", failedPhase: "rollout" });
    expect(m.flags.share()).toBe(0);
    // Recorded as failed, with why and how long it ran, never left "running".
    const phase = (await m.store.migrationStatus.list("migration")).find((p) => p.phase === "rollout")!;
    expect(phase).toMatchObject({ status: "failed", metadata: { reason: expect.stringContaining("v2_error_rate") } });
    expect(phase.completedAt! - phase.startedAt).toBeGreaterThanOrEqual(MIN);
    await m.close();
  }, 60_000);

  for (const keepWarm of [true, false]) {
    test(`abort, retry after the cool-down (V2 ${keepWarm ? "kept warm" : "stopped"}), promote: one V2 pool, one rollout`, async () => {
      const m = await setup(sqlite.fresh(), v2Options(), { rollout: { plan: QUICK_PLAN, thresholds: { minCalls: 20 }, rollback: { keepWarm } } });
      await m.migration.run();
      const firstV2 = m.migration.v2!;
      await m.migration.abort("operator abort");
      expect(m.migration.status()).toMatchObject({ state: "rolledBack" });
      expect((await rejection(m.migration.run())).message).toContain("cooling down");
      m.advance(QUICK_PLAN.cooldownMs);
      const retried = await m.migration.run();
      expect([retried.state, retried.rollout?.stage, m.flags.share()]).toEqual(["rollout", 1, 5000]);
      if (keepWarm) expect(m.migration.v2).toBe(firstV2);
      else expect([firstV2.state, m.migration.v2!.state]).toEqual(["stopped", "serving"]);
      await m.migration.promote();
      await m.migration.promote();
      expect([m.migration.status().state, m.flags.share()]).toEqual(["decommission", 10_000]);
      // Promoted by hand, never judged: V1 stays until V2 has evidence for it.
      m.advance(10 * MIN);
      expect((await rejection(m.migration.decommission())).message).toContain("last_judgement_passed: insufficient evidence: V2 was never judged");
      if (keepWarm) await firstV2.stop();
      await m.close();
    }, 60_000);
  }

  test("a new process resumes the migration in its rollout stage", async () => {
    const url = sqlite.fresh();
    const first = await setup(url, v2Options());
    await first.migration.run();
    await first.close();
    const second = await setup(url, v2Options());
    expect(second.migration.status().state).toBe("rollout");
    const status = await second.migration.run();
    expect([status.state, status.rollout?.stage, second.flags.share()]).toEqual(["rollout", 1, 5000]);
    expect((await second.store.migrationStatus.list("migration")).filter((p) => p.phase === "preflight").length).toBe(1);
    await second.close();
  }, 60_000);
});
