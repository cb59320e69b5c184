/**
 * The molt CLI against the store of a running application (a migration
 * serving commands in this process): commands are applied within a second,
 * status and report read the store, flags are set for every holder, and
 * every command has --help.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import { openStore } from "../../mod.ts";
import { fixture, PROCESS_TEST_TIMEOUT_MS, waitFor } from "../helpers.ts";
import { BACKENDS } from "../store/backends.ts";
import { cli, running } from "./helpers.ts";

setDefaultTimeout(PROCESS_TEST_TIMEOUT_MS);

const sqlite = BACKENDS[0]!;
afterAll(() => sqlite.cleanup());

describe("molt CLI", () => {
  test("steers a running migration through its store: pause, resume, status, flags, report, inspect, rollback", async () => {
    const url = sqlite.fresh();
    const { store, migration, v1, flags, stop } = await running(url);
    try {
      await Promise.all(Array.from({ length: 40 }, (_, i) => migration.router!.execute("work", { x: i }, { sessionId: `s${i}` })));
      await migration.tick();

      const pause = await cli(url, "rollout", "pause", "--reason", "checking dashboards");
      expect([pause.code, pause.err]).toEqual([0, ""]);
      expect(pause.out).toContain("pause applied: migration rollout, rollout paused");
      expect(migration.rollout!.status()).toMatchObject({ state: "paused", pauseReason: "checking dashboards" });
      // Already paused: a no-op that says so, nothing queued.
      const again = await cli(url, "rollout", "pause");
      expect([again.code, again.out.trim()]).toEqual([0, 'nothing to do: rollout "migration" is already paused (V2 share 5%)']);
      const bad = await cli(url, "decommission");
      expect([bad.code, bad.err]).toEqual([1, expect.stringContaining("decommission failed: migration migration: cannot decommission while rollout")]);
      // A dry run says why it would be refused and what it would take away, and changes nothing.
      const dry = await cli(url, "decommission", "--dry-run");
      expect([dry.code, dry.err]).toEqual([1, ""]);
      for (const text of ["dry run: would be refused (1 check(s) not passed)", "✗ v2_promoted: V2 has not been promoted to 100% (the migration is in rollout)", "v1-archive (configuration.json, decisions.json, metrics.json", "manifest.json)", `process v1-1 (pid ${v1.metrics().workers[0]!.pid}): to be stopped`, "flag pool_v2_share: to be retired", "configuration v1: to be marked inactive"]) {
        expect(dry.out).toContain(text);
      }
      expect(v1.state).toBe("serving");

      const status = await cli(url, "status");
      expect(status.code).toBe(0);
      for (const text of ["phase", "rollout", "paused", "1 of 5", "5%", "checking dashboards", "V1", "V2", "operator.pause"]) expect(status.out).toContain(text);
      // The serving process beats: status says what serves the migration.
      expect(status.out).toContain(`served by ${hostname()}-${process.pid} alone`);

      expect((await cli(url, "rollout", "resume")).out).toContain("resume applied");
      expect(migration.rollout!.status().state).toBe("active");

      const set = await cli(url, "flags", "set", "pool_optimizer", "false", "--reason", "from the CLI");
      expect([set.code, set.out.trim()]).toEqual([0, "pool_optimizer = false (effective here: false from store)"]);
      expect(await waitFor(() => !flags.get("pool_optimizer"), 5000)).toBe(true);
      const tooMuch = await cli(url, "flags", "set", "pool_v2_share", "120%");
      expect([tooMuch.code, tooMuch.err]).toEqual([2, expect.stringContaining("flag pool_v2_share must be an integer from 0 to 10000")]);
      expect((await cli(url, "flags", "get")).out).toContain("pool_optimizer");

      const file = join(sqlite.fresh().replace(/^sqlite:/, "").replace(/molt\.db$/, ""), "report.md");
      expect((await cli(url, "report", "--out", file)).code).toBe(0);
      const report = readFileSync(file, "utf8");
      for (const section of ["# Migration report: migration", "## Phases", "## Timeline", "## Stages", "## Incidents", "## The last judged window"]) expect(report).toContain(section);

      const inspect = JSON.parse((await cli(url, "inspect")).out);
      expect(inspect.machines.rollout.config.id).toBe("rollout");
      expect(inspect.snapshots.rollout.detail).toBe("active.stage");

      const rollback = await cli(url, "rollback", "--emergency", "--reason", "pager");
      expect(rollback.out).toContain("emergency_rollback applied: migration rolledBack");
      expect(flags.share()).toBe(0);
      // Each command was applied within a second of being written.
      const commands = await store.commands.list("migration");
      expect(commands.length).toBe(5);
      for (const c of commands) expect([c.command, c.appliedAt! - c.requestedAt < 1000]).toEqual([c.command, true]);
      console.log(`CLI commands applied in ${commands.map((c) => `${c.command} ${c.appliedAt! - c.requestedAt} ms`).join(", ")}`);
    } finally {
      await stop();
    }
    // Once the serving process has stopped, a command says at once that nothing will apply it.
    const orphan = await cli(url, "rollout", "pause", "--wait-ms", "60000");
    expect([orphan.code, orphan.err]).toEqual([3, expect.stringContaining("no live leader")]);
    expect(orphan.ms).toBeLessThan(30_000);
  }, 60_000);

  test("a --wait-ms that is not a duration is a usage error, and nothing is queued", async () => {
    const url = sqlite.fresh();
    for (const wait of ["abc", "-1", "2147483648"]) {
      const r = await cli(url, "rollout", "pause", "--wait-ms", wait);
      expect([r.code, r.err]).toEqual([2, expect.stringContaining(`error: option '--wait-ms <ms>' argument '${wait}' is invalid. it must be a positive integer of milliseconds, at most 2147483647`)]);
    }
    const store = await openStore(url);
    expect(await store.commands.list("migration")).toEqual([]);
    await store.close();
  }, 30_000);

  test("python-path prints the directory that makes `import molt` work in any interpreter", async () => {
    const r = await cli(sqlite.fresh(), "python-path");
    expect([r.code, r.err]).toEqual([0, ""]);
    const dir = r.out.trim();
    expect(existsSync(join(dir, "molt", "__init__.py"))).toBe(true);
    const python = spawnSync("python3", ["-c", "import molt; print(molt.PROTOCOL_VERSION)"], { env: { ...process.env, PYTHONPATH: dir }, cwd: "/" });
    expect(python.stdout.toString().trim()).toBe("1");
  });

  test("every command has --help", async () => {
    const commands = [[], ["status"], ["flags"], ["flags", "get"], ["flags", "set"], ["rollout"], ["rollout", "start"], ["rollout", "pause"], ["rollout", "resume"], ["rollout", "promote"], ["rollout", "abort"], ["rollback"], ["decommission"], ["report"], ["inspect"], ["validate"], ["backup"], ["backup", "list"], ["backup", "show"], ["backup", "restore"], ["python-path"], ["completion"], ["dashboard"], ["incident"], ["train"]];
    // Three at a time: each is a process that starts, prints and exits.
    for (let i = 0; i < commands.length; i += 3) {
      const batch = commands.slice(i, i + 3);
      const results = await Promise.all(batch.map((args) => cli(":memory:", ...args, "--help")));
      for (const [j, r] of results.entries()) {
        expect([batch[j]!.join(" "), r.code, r.out.startsWith("Usage: molt")]).toEqual([batch[j]!.join(" "), 0, true]);
      }
    }
  }, 60_000);

  test("backup list, show and restore: from the store or a file; an unknown id or a bad file is an error and changes nothing", async () => {
    const url = sqlite.fresh();
    const store = await openStore(url);
    await store.flags.set("pool_v2_share", 0);
    const file = join(url.replace(/^sqlite:/, "").replace(/molt\.db$/, ""), "backup.json");
    const b = await store.backups.write(await store.backups.collect(), { reason: "before", file });
    await store.flags.set("pool_v2_share", 5000);
    const list = await cli(url, "backup", "list");
    expect([list.code, list.out]).toEqual([0, expect.stringContaining(b.id)]);
    const show = await cli(url, "backup", "show", b.id);
    expect(show.out).toContain("pool_v2_share = 0");
    const restored = await cli(url, "backup", "restore", b.id, "--by", "oncall", "--reason", "test");
    expect([restored.code, restored.out]).toEqual([0, expect.stringContaining("flags changed: pool_v2_share")]);
    expect((await store.flags.get("pool_v2_share"))?.value).toBe(0);
    await store.flags.set("pool_v2_share", 5000);
    expect((await cli(url, "backup", "restore", "--file", file)).code).toBe(0);
    expect((await store.flags.get("pool_v2_share"))?.value).toBe(0);
    await store.flags.set("pool_v2_share", 5000);
    const unknown = await cli(url, "backup", "restore", "backup-nope");
    expect([unknown.code, unknown.err]).toEqual([1, expect.stringContaining("BackupError: backup backup-nope: no backup with this id")]);
    const missing = await cli(url, "backup", "restore", "--file", `${file}.missing`);
    expect([missing.code, missing.err]).toEqual([1, expect.stringContaining("cannot be read")]);
    const both = await cli(url, "backup", "restore", b.id, "--file", file);
    expect(both.code).toBe(2);
    expect((await store.flags.get("pool_v2_share"))?.value).toBe(5000);
    expect((await store.decisions.list("migration")).filter((d) => d.kind === "backup.restored")).toHaveLength(2);
    await store.close();
  }, 60_000);

  test("read-only commands on a store that is not there say so, exit 1 and create nothing", async () => {
    const path = join(sqlite.fresh().replace(/^sqlite:/, "").replace(/molt\.db$/, ""), "none", "x.db");
    for (const args of [["status"], ["report"], ["flags", "get"], ["backup", "list"], ["inspect"], ["status", "--json"]]) {
      const r = await cli(`sqlite:${path}`, ...args);
      expect([args.join(" "), r.code, r.err]).toEqual([args.join(" "), 1, expect.stringContaining(`no store at ${path} (nothing was created)`)]);
    }
    expect(existsSync(join(path, ".."))).toBe(false);
  }, 60_000);

  test("an unknown migration id lists the ones the store has", async () => {
    const url = sqlite.fresh();
    const store = await openStore(url);
    for (const id of ["blue", "green"]) await store.journal.append({ actorId: `migration:${id}`, seq: 1, event: { type: "migration.started", now: 0 }, at: 0 });
    await store.close();
    for (const args of [["status"], ["report"], ["inspect"], ["rollout", "pause"]]) {
      const r = await cli(url, "--migration", "nope", ...args);
      expect([args.join(" "), r.code, r.err.trim()]).toEqual([args.join(" "), 1, `error: no migration "nope" in ${url}; it has: blue, green (choose one with --migration)`]);
    }
    const fresh = sqlite.fresh();
    await (await openStore(fresh)).close();
    const empty = await cli(fresh, "status");
    expect(empty.err).toContain("it has none");
  }, 60_000);
});

test("molt validate runs the suite on fresh pools, stores the results, and prints markdown or JSON", async () => {
  const url = sqlite.fresh();
  const handler = fixture("arm_handler.py");
  const common = ["--v1-handler", handler, "--v2-handler", handler, "--size", "1", "--users", "2", "--duration-ms", "600"];
  const md = await cli(url, "--migration", "m1", "validate", "equivalence", ...common, "--program-handler", "shout");
  expect([md.code, md.err]).toEqual([0, ""]);
  expect(md.out).toContain("## Equivalence: pass (8 passed, 0 failed)");
  // A margin sized for a loaded machine (see test/validation/load.test.ts).
  const json = await cli(url, "--migration", "m1", "validate", "load", ...common, "--tolerance", "0.6", "--json");
  expect(json.code).toBe(0);
  const [load] = JSON.parse(json.out);
  expect([load.kind, load.verdict]).toEqual(["load", "pass"]);
  const store = await openStore(url);
  expect((await store.validations.list("m1")).map((v) => [v.kind, v.verdict])).toEqual([["equivalence", "pass"], ["load", "pass"]]);
  await store.close();
  const bad = await cli(url, "validate", "everything", ...common);
  expect([bad.code, bad.err]).toEqual([2, expect.stringContaining('validate: expected equivalence, load, faults or all, received "everything"')]);
}, 60_000);

test("molt validate takes the call's arguments; without them a command that needs them fails (exit 1), never passes", async () => {
  const url = sqlite.fresh();
  const handler = fixture("arm_handler.py");
  const common = ["--migration", "m1", "validate", "load", "--v1-handler", handler, "--v2-handler", handler, "--size", "1", "--users", "2", "--duration-ms", "600", "--command", "work", "--tolerance", "0.6", "--json"];
  const missing = await cli(url, ...common);
  expect(missing.code).toBe(1);
  const [failed] = JSON.parse(missing.out);
  expect([failed.verdict, failed.reasons[0]]).toEqual(["fail", expect.stringMatching(/^V1 completed none of its \d+ calls/)]);
  const given = await cli(url, ...common, "--args", '{"x": 1}');
  expect([given.code, JSON.parse(given.out)[0].verdict]).toEqual([0, "pass"]);
  const file = join(sqlite.fresh().replace(/^sqlite:/, "").replace(/molt\.db$/, ""), "args.json");
  writeFileSync(file, '{"x": 2}');
  expect((await cli(url, ...common, "--args-file", file)).code).toBe(0);

  // Bad arguments are usage errors (exit 2) that name the option, and nothing runs.
  const usage: [string[], string][] = [
    [["--args", "{x: 1}"], 'validate: --args must be JSON, received "{x: 1}"'],
    [["--args-file", "/nonexistent/args.json"], 'validate: --args-file "/nonexistent/args.json" cannot be read'],
    [["--args", "1", "--args-file", file], "validate: give --args or --args-file, not both"],
    [["--args", "1", "--tolerance", "2"], 'validate: --tolerance must be a number from 0 to 1 (exclusive), received "2"'],
  ];
  for (const [args, message] of usage) {
    const r = await cli(url, ...common, ...args);
    expect([r.code, r.err]).toEqual([2, expect.stringContaining(message)]);
  }
  // Too few calls to tell (each sleeps 20 ms): neither a pass nor a failure, exit 3. A tolerance of 0.9: in CI, beside
  // the Node suite, two arms of one handler came out "fail" here (the record kept the verdict, not its reason); with
  // 100 ms blocks, a V2 block slowed by the machine is called worse at the default 0.1, which is not what this is about.
  const echo = fixture("echo_handler.py");
  const few = await cli(url, "--migration", "m1", "validate", "load", "--v1-handler", echo, "--v2-handler", echo, "--size", "2", "--users", "2", "--duration-ms", "600", "--command", "sleep", "--args", '{"seconds": 0.02}', "--tolerance", "0.9", "--json");
  expect([few.code, JSON.parse(few.out)[0].verdict]).toEqual([3, "insufficient"]);
  const store = await openStore(url);
  expect((await store.validations.list("m1")).map((v) => v.verdict)).toEqual(["fail", "pass", "pass", "insufficient"]);
  await store.close();
}, 60_000);
