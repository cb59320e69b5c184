/**
 * The CLI as an operator uses it mid-rollout, against a migration serving
 * commands in this process: promote moves one stage (--full: to 100%),
 * every verb is recorded under its own name and with who asked (the OS
 * user unless --by), a goal already reached is a no-op that says so, the
 * share a rollout steers is refused by hand unless --force (which pauses
 * the rollout, and the paused rollout leaves the share alone), and status
 * has a documented JSON form and a watch mode that prints a line per change
 * into a pipe. Also: completion scripts, the Stately JSON of a machine, and
 * the live inspection events of a running migration.
 */
import { afterAll, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { userInfo } from "node:os";
import { colourful } from "../../src/cli/output.ts";
import { WebSocketServer } from "ws";
import { lines, repoPath, spawnChild, tsCommand, waitFor } from "../helpers.ts";
import { BACKENDS } from "../store/backends.ts";
import { cli, running } from "./helpers.ts";

const sqlite = BACKENDS[0]!;
afterAll(() => sqlite.cleanup());

test("promote moves one stage, --full to 100%; abort is recorded as abort; a goal already reached is a no-op; every command says who asked", async () => {
  const url = sqlite.fresh();
  const m = await running(url);
  try {
    expect(m.migration.rollout!.status()).toMatchObject({ stage: 1, shareBp: 500 });
    const one = await cli(url, "rollout", "promote", "--reason", "dashboards fine");
    expect([one.code, one.err, one.out]).toEqual([0, "", expect.stringContaining("promote_stage applied")]);
    expect(m.migration.rollout!.status()).toMatchObject({ state: "active", stage: 2, shareBp: 1000 });
    const full = await cli(url, "rollout", "promote", "--full", "--by", "alice");
    expect([full.code, full.err]).toEqual([0, ""]);
    expect(m.migration.rollout!.status()).toMatchObject({ state: "promoted", shareBp: 10_000 });
    const again = await cli(url, "rollout", "promote", "--full");
    expect([again.code, again.out.trim()]).toEqual([0, 'nothing to do: rollout "migration" is already promoted (V2 share 100%)']);
    const abort = await cli(url, "rollout", "abort", "--reason", "customer report", "--wait-ms", "30000");
    expect([abort.code, abort.err]).toEqual([0, ""]);
    const noop = await cli(url, "rollback");
    expect([noop.code, noop.out.trim()]).toEqual([0, 'nothing to do: rollout "migration" is already rolledBack (V2 share 0%)']);
    // An emergency on a rollout already rolled back writes share 0 again and succeeds: it used to fail (exit 1) once applied.
    const emergency = await cli(url, "rollback", "--emergency", "--reason", "to be sure", "--wait-ms", "30000");
    expect([emergency.code, emergency.err]).toEqual([0, ""]);
    expect(emergency.out).toContain("emergency_rollback applied");
    // Each decision says who asked, as the command does.
    const operator = (await m.store.decisions.list("migration")).filter((d) => d.kind.startsWith("operator.")).map((d) => [d.kind, d.inputs.by]);
    expect(operator).toEqual([["operator.promote_stage", userInfo().username], ["operator.promote", "alice"], ["operator.abort", userInfo().username]]);
    const commands = await m.store.commands.list("migration");
    expect(commands.map((c) => [c.command, c.status, c.requestedBy]).reverse()).toEqual([
      ["promote_stage", "applied", userInfo().username], ["promote", "applied", "alice"], ["abort", "applied", userInfo().username], ["emergency_rollback", "applied", userInfo().username],
    ]);
  } finally {
    await m.stop();
  }
}, 90_000);

test("the share a rollout steers is refused by hand; --force pauses the rollout, which then leaves the share alone", async () => {
  const url = sqlite.fresh();
  const m = await running(url);
  try {
    const refused = await cli(url, "flags", "set", "pool_v2_share", "25%");
    expect([refused.code, refused.err]).toEqual([1, expect.stringContaining('pool_v2_share is steered by rollout "migration" (active.stage, V2 share 5%)')]);
    expect(m.share()).toBe(500);
    const forced = await cli(url, "flags", "set", "pool_v2_share", "25%", "--force", "--by", "bob", "--reason", "load test");
    expect([forced.code, forced.err]).toEqual([0, ""]);
    expect(forced.out).toContain('rollout "migration" paused (pool_v2_share set by hand to 25% by bob: load test)');
    expect(await waitFor(() => m.share() === 2500, 5000)).toBe(true);
    expect(m.migration.rollout!.status()).toMatchObject({ state: "paused", pauseReason: "pool_v2_share set by hand to 25% by bob: load test" });
    // The paused rollout judges on and records it, and leaves the share where the operator put it.
    await Promise.all(Array.from({ length: 20 }, (_, i) => m.migration.router!.execute("work", { x: i })));
    await m.migration.tick();
    expect(m.share()).toBe(2500);
    expect((await m.store.flags.get("pool_v2_share"))?.value).toBe(2500);
    // Resumed, the rollout steers again: its stage's share.
    expect((await cli(url, "rollout", "resume")).code).toBe(0);
    expect(await waitFor(() => m.share() === 500, 5000)).toBe(true);
  } finally {
    await m.stop();
  }
}, 90_000);

test("status --json has the documented shape; --watch prints a line per change into a pipe, with no colour", async () => {
  const url = sqlite.fresh();
  const m = await running(url);
  try {
    const json = await cli(url, "status", "--json");
    expect(json.code).toBe(0);
    const s = JSON.parse(json.out);
    expect(s).toMatchObject({
      migrationId: "migration", store: url, phase: "rollout", failed: null,
      rollout: { state: "active", detail: "active.stage", stage: 1, stages: 5, shareBp: 500, clockRunning: true, pauseReason: null, rollbackReason: null },
      fleet: { allGone: false, nodes: [expect.objectContaining({ role: "leader", live: true })] },
    });
    expect(s.decisions.map((d: { kind: string }) => d.kind)).toContain("started");
    const watcher = spawnChild(tsCommand(repoPath("src/cli/molt.ts"), "--store", url, "status", "--watch", "--interval-ms", "100", "--timeout-ms", "8000"));
    const out = new Response(watcher.stdout).text();
    await waitFor(async () => (await m.store.decisions.list("migration")).length > 0, 5000);
    await new Promise((r) => setTimeout(r, 1000));
    expect((await cli(url, "rollout", "pause", "--reason", "watch me")).code).toBe(0);
    const [text, code] = await Promise.all([out, watcher.exited]);
    expect(code).toBe(0);
    const lines = text.trim().split("\n");
    expect(lines[0]).toMatch(/^\S+ phase=rollout rollout=active\.stage share=5% last=\S+$/);
    expect(lines.some((l) => l.includes("rollout=paused") && l.includes("last=operator.pause"))).toBe(true);
    // One line per change: not one per read (80 reads in 8 s).
    expect(lines.length).toBeLessThan(10);
    expect(text).not.toContain("\x1b[");
  } finally {
    await m.stop();
  }
}, 90_000);

test("a command nobody applies says so within --wait-ms and exits 2", async () => {
  const url = sqlite.fresh();
  const m = await running(url, false);
  try {
    const r = await cli(url, "rollout", "pause", "--wait-ms", "300");
    expect([r.code, r.err]).toEqual([2, expect.stringContaining("not applied within 300 ms: is the application running")]);
  } finally {
    await m.stop();
  }
}, 60_000);

test("colour only on a terminal, never with NO_COLOR", () => {
  expect(colourful({ isTTY: true }, {})).toBe(true);
  expect(colourful({ isTTY: true }, { NO_COLOR: "1" })).toBe(false);
  expect(colourful({ isTTY: true }, { NO_COLOR: "" })).toBe(true);
  expect(colourful({ isTTY: false }, {})).toBe(false);
  expect(colourful({}, {})).toBe(false);
});

test("completion: bash completes commands, subcommands and choices from the CLI's own definitions", async () => {
  const script = (await cli(":memory:", "completion", "bash")).out;
  const complete = (...words: string[]): string[] => {
    const run = spawnSync("bash", ["-c", `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(" ")}); COMP_CWORD=${words.length - 1}; _molt_complete; printf '%s\\n' "\${COMPREPLY[@]}"`]);
    return run.stdout.toString().trim().split("\n").filter(Boolean);
  };
  expect(complete("molt", "ro")).toEqual(["rollout", "rollback"]);
  expect(complete("molt", "rollout", "pro")).toEqual(["promote"]);
  expect(complete("molt", "rollout", "promote", "--f")).toEqual(["--full"]);
  expect(complete("molt", "report", "--format", "")).toEqual(["md", "json", "html"]);
  expect(complete("molt", "--store", "x", "flags", "")).toEqual(["get", "set", "--help"]);
  for (const shell of ["zsh", "fish"]) expect((await cli(":memory:", "completion", shell)).out).toContain("molt");
  const bad = await cli(":memory:", "completion", "tcsh");
  expect([bad.code, bad.err]).toEqual([2, expect.stringContaining("value 'tcsh' is invalid for argument 'shell'. Allowed choices are bash, zsh, fish.")]);
}, 60_000);

test("inspect --machine prints a machine as the Stately visualiser imports it, with no store", async () => {
  for (const name of ["worker", "pool", "breaker", "rollout", "migration"]) {
    const r = await cli("sqlite:/nonexistent/dir/x.db", "inspect", "--machine", name);
    expect([name, r.code, r.err]).toEqual([name, 0, ""]);
    const json = JSON.parse(r.out);
    expect([json.id, Object.keys(json.states).length > 1]).toEqual([name, true]);
  }
}, 60_000);

test("inspect --live streams a running migration's actors as @statelyai/inspect's events, to stdout or to a WebSocket inspector, and ends on Ctrl-C", async () => {
  const url = sqlite.fresh();
  const m = await running(url);
  const server = new WebSocketServer({ host: "127.0.0.1", port: 0 });
  try {
    const child = spawnChild(tsCommand(repoPath("src/cli/molt.ts"), "--store", url, "inspect", "--live", "--interval-ms", "50"));
    const seen: Array<{ type: string; name?: string; event?: { type: string }; snapshot?: { value?: unknown } }> = [];
    const reading = (async () => {
      for await (const line of lines(child.stdout)) seen.push(JSON.parse(line));
    })();
    // Both machines are announced with the state the store holds; what happens after is reported as it happens.
    expect(await waitFor(() => seen.filter((e) => e.type === "@xstate.actor").length === 2, 30_000)).toBe(true);
    expect(seen.filter((e) => e.type === "@xstate.actor").map((e) => e.name).sort()).toEqual(["migration:migration", "rollout:migration"]);
    expect(seen.find((e) => e.name === "rollout:migration")!.snapshot!.value).toEqual({ active: "stage" });
    expect((await cli(url, "rollout", "pause", "--reason", "watching")).code).toBe(0);
    expect(await waitFor(() => seen.some((e) => e.type === "@xstate.snapshot" && e.event!.type === "operator.paused" && e.snapshot!.value === "paused"), 30_000)).toBe(true);
    child.kill("SIGINT");
    expect(await child.exited).toBe(0);
    await reading;

    const received: Array<{ type: string; name?: string }> = [];
    server.on("connection", (socket) => socket.on("message", (data) => received.push(JSON.parse(String(data)))));
    const { port } = server.address() as { port: number };
    const ws = await cli(url, "inspect", "--live", "--ws", `ws://127.0.0.1:${port}`, "--timeout-ms", "3000");
    expect([ws.code, ws.err, ws.out]).toEqual([0, "", ""]);
    expect(received.filter((e) => e.type === "@xstate.actor").map((e) => e.name).sort()).toEqual(["migration:migration", "rollout:migration"]);

    // No inspector listening: said once, tried again every second, and the watch still ends on time (it never did).
    server.close();
    const away = await cli(url, "inspect", "--live", "--ws", `ws://127.0.0.1:${port}`, "--timeout-ms", "2500");
    expect([away.code, away.err.trim(), away.out]).toEqual([0, `molt inspect: no inspector is listening at ws://127.0.0.1:${port}; trying again every second`, ""]);

    const bad = await cli(url, "inspect", "--live", "--ws", "http://example.com");
    expect([bad.code, bad.err]).toEqual([2, expect.stringContaining("'--ws <url>' argument 'http://example.com' is invalid: a ws:// or wss:// URL")]);
  } finally {
    server.close();
    await m.stop();
  }
}, 120_000);
