/**
 * The dashboard over plain HTTP, without a browser: its options are checked
 * with messages naming option, value and what is allowed; the page and its
 * assets carry a Content-Security-Policy; the snapshot holds what the store
 * holds; server-sent events push a change written to the store and end on
 * close(); actions are refused without a token (403) or with a wrong one
 * (401) and go through the CLI's command path with one; requests addressed
 * to another host name are refused (DNS rebinding); `molt dashboard`
 * validates its options before it opens a store and stops on SIGTERM.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { type DashboardSnapshot, openStore, startDashboard, type Store } from "../../mod.ts";
import { repoPath, spawnChild, tsCommand } from "../helpers.ts";
import { BACKENDS } from "../store/backends.ts";
import { events, raw } from "./helpers.ts";

const sqlite = BACKENDS[0]!;
afterAll(() => sqlite.cleanup());

const TOKEN = "test-token-0123456789abcdef";

async function seeded(): Promise<Store> {
  const store = await openStore(sqlite.fresh());
  const d = { rolloutId: "m1", stateFrom: "active.stage", stateTo: "active.stage", inputs: {} };
  await store.decisions.record({ ...d, at: 1000, kind: "started", shareFrom: 0, shareTo: 500, reason: "rollout started" });
  for (const at of [2000, 3000, 4000]) await store.decisions.record({ ...d, at, kind: "judged", shareFrom: 500, shareTo: 500, reason: "pass" });
  await store.decisions.record({ ...d, at: 5000, kind: "advanced", shareFrom: 500, shareTo: 1000, reason: "stage 1 passed" });
  await store.validations.record({ target: "m1", kind: "load", verdict: "pass", report: { kind: "load" } });
  await store.shadowMismatches.record({ command: "echo", servingArm: "v1", shadowArm: "v2", serving: 1, shadow: 2, at: 4500, rolloutId: "m1" });
  // Another migration's in the same store, and a router's that served none: not m1's to show.
  await store.shadowMismatches.record({ command: "echo", servingArm: "v1", shadowArm: "v2", serving: 3, shadow: 4, at: 4600, rolloutId: "m0" });
  await store.shadowMismatches.record({ command: "echo", servingArm: "v1", shadowArm: "v2", serving: 5, shadow: 6, at: 4700 });
  await store.nodes.join({ nodeId: "web-1", target: "m1", host: "h", pid: 10, version: "0.1.0", role: "follower", arms: ["v1", "v2"], heartbeatMs: 1000 });
  return store;
}

const post = (url: string, body: unknown, headers: Record<string, string> = {}) =>
  fetch(new URL("api/actions", url), { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) });

describe("dashboard options", () => {
  test("each bad option is a ConfigError naming the option, the value and what is allowed", async () => {
    const store = await openStore(":memory:");
    try {
      const refused = async (o: Record<string, unknown>): Promise<string> => {
        try {
          await startDashboard({ store, migrationId: "m1", port: 0, ...o } as never);
          return "started";
        } catch (e) {
          return `${(e as { _tag?: string })._tag}: ${(e as Error).message}`;
        }
      };
      expect(await refused({ port: 70000 })).toBe("ConfigError: dashboard: port must be an integer from 0 to 65535 (0 takes a free port), received 70000");
      expect(await refused({ port: 1.5 })).toContain("port must be an integer from 0 to 65535");
      expect(await refused({ host: "http://x" })).toBe('ConfigError: dashboard: host must be an IP address or a host name, without scheme or port (e.g. 127.0.0.1, ::1, 0.0.0.0), received "http://x"');
      expect(await refused({ token: "short" })).toContain('token must be 16 to 256 visible ASCII characters (no spaces)');
      expect(await refused({ pollMs: 0 })).toContain("pollMs must be a positive integer of milliseconds");
      expect(await refused({ migrationId: "bad id!" })).toContain("migrationId must be 1–64 letters");
      expect(await refused({ colour: "red" })).toContain("colour must be one of the known options (store, migrationId, host, port, token, pollMs)");
      // A port already taken: the same kind of message, naming the port.
      const first = await startDashboard({ store, migrationId: "m1", port: 0 });
      try {
        expect(await refused({ port: first.port })).toMatch(new RegExp(`^ConfigError: dashboard: port must be a port free to listen on at 127\\.0\\.0\\.1 \\(EADDRINUSE\\), received ${first.port}$`));
      } finally {
        await first.close();
      }
    } finally {
      await store.close();
    }
  });
});

describe("dashboard endpoints", () => {
  test("the page, its script and style come with a Content-Security-Policy; the snapshot holds the store's rows; unknown paths 404", async () => {
    const store = await seeded();
    const d = await startDashboard({ store, migrationId: "m1", port: 0 });
    try {
      expect(d.url).toBe(`http://127.0.0.1:${d.port}/`);
      const page = await fetch(d.url);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(page.headers.get("content-security-policy")).toContain("default-src 'none'; script-src 'self'");
      expect(page.headers.get("x-content-type-options")).toBe("nosniff");
      const html = await page.text();
      expect(html).toContain("<title>molt dashboard: m1</title>");
      // Nothing from elsewhere: every src and href is the server's own.
      expect([...html.matchAll(/(?:src|href)="([^"]*)"/g)].map((m) => m[1])).toEqual(["data:,", "/app.css", "/app.js"]);
      expect((await fetch(new URL("app.js", d.url))).headers.get("content-type")).toBe("text/javascript; charset=utf-8");
      expect((await fetch(new URL("app.css", d.url))).headers.get("content-type")).toBe("text/css; charset=utf-8");

      const s = (await (await fetch(new URL("api/snapshot", d.url))).json()) as DashboardSnapshot;
      expect([s.migrationId, s.readOnly, s.migration, s.rollout]).toEqual(["m1", true, null, null]);
      expect(s.decisions.map((x) => x.kind)).toEqual(["started", "judged", "judged", "judged", "advanced"]);
      expect(s.series.share).toEqual([{ at: 1000, shareBp: 500 }, { at: 5000, shareBp: 1000 }]);
      expect(s.series.markers.map((m) => m.label)).toEqual(["started: 0% → 5%", "advanced: 5% → 10%"]);
      expect(s.validations.map((v) => [v.kind, v.verdict])).toEqual([["load", "pass"]]);
      expect(s.mismatches.map((m) => [m.command, m.serving, m.shadow])).toEqual([["echo", 1, 2]]);
      expect(s.fleet.nodes.map((n) => [n.nodeId, n.live])).toEqual([["web-1", true]]);
      expect(s.views.charts.map((c) => c.id)).toEqual(["share", "calls", "errors", "p50", "p99", "cpu", "memory"]);
      // The share chart draws both arms from the decisions; the others say there is no window yet.
      expect([...s.views.charts[0]!.svg.matchAll(/data-series="(\w+)"/g)].map((m) => m[1])).toEqual(["V1", "V2"]);
      expect(s.views.charts[1]!.svg).toContain("no recorded window");

      expect((await fetch(new URL("nope", d.url))).status).toBe(404);
      expect((await fetch(new URL("api/snapshot", d.url), { method: "DELETE" })).status).toBe(405);
      expect((await fetch(new URL("api/actions", d.url))).status).toBe(405);
    } finally {
      await d.close();
      await store.close();
    }
  });

  test("a request addressed to another host name is refused when the dashboard listens on loopback", async () => {
    const store = await openStore(":memory:");
    const d = await startDashboard({ store, migrationId: "m1", port: 0 });
    try {
      expect((await raw(d.url, { headers: { host: `localhost:${d.port}` } })).status).toBe(200);
      const rebound = await raw(d.url, { headers: { host: `evil.example:${d.port}` } });
      expect(rebound.status).toBe(421);
      expect(rebound.body).not.toContain("<html");
      expect((await raw(new URL("api/snapshot", d.url).href, { headers: { host: "127.0.0.1:1" } })).status).toBe(421);
    } finally {
      await d.close();
      await store.close();
    }
  });

  test("server-sent events: the snapshot at once, a decision written to the store pushed, the stream ended by close()", async () => {
    const store = await seeded();
    const d = await startDashboard({ store, migrationId: "m1", port: 0, pollMs: 50 });
    const stream = await events(d.url);
    try {
      const first = await stream.next();
      expect(first?.event).toBe("snapshot");
      expect((JSON.parse(first!.data) as DashboardSnapshot).decisions).toHaveLength(5);
      await store.decisions.record({ rolloutId: "m1", at: 6000, kind: "paused", stateFrom: "active.stage", stateTo: "paused", shareFrom: 1000, shareTo: 1000, reason: "by the test", inputs: {} });
      // Unchanged reads push nothing: the next event is the change.
      const second = await stream.next();
      expect(second?.event).toBe("snapshot");
      expect((JSON.parse(second!.data) as DashboardSnapshot).decisions.at(-1)?.reason).toBe("by the test");
      await d.close();
      expect(await stream.next()).toBeNull();
    } finally {
      stream.close();
      await d.close();
      await store.close();
    }
  });
});

describe("dashboard actions", () => {
  test("without a token every action is refused (403), and nothing is queued", async () => {
    const store = await seeded();
    const d = await startDashboard({ store, migrationId: "m1", port: 0 });
    try {
      expect(d.readOnly).toBe(true);
      const r = await post(d.url, { action: "pause", by: "mallory" }, { authorization: `Bearer ${TOKEN}` });
      expect(r.status).toBe(403);
      expect(((await r.json()) as { error: string }).error).toContain("read-only");
      expect(await store.commands.list("m1")).toEqual([]);
    } finally {
      await d.close();
      await store.close();
    }
  });

  test("with a token: a missing or wrong one is 401; the right one queues the command as the CLI does, with the identity given", async () => {
    const store = await seeded();
    const d = await startDashboard({ store, migrationId: "m1", port: 0, token: TOKEN });
    try {
      expect(d.readOnly).toBe(false);
      const none = await post(d.url, { action: "pause", by: "mallory" });
      expect([none.status, none.headers.get("www-authenticate")]).toEqual([401, 'Bearer realm="molt dashboard"']);
      expect((await post(d.url, { action: "pause", by: "mallory" }, { authorization: `Bearer ${TOKEN}x` })).status).toBe(401);
      expect((await post(d.url, { action: "pause", by: "mallory" }, { authorization: TOKEN })).status).toBe(401);
      expect(await store.commands.list("m1")).toEqual([]);

      // A bad body names what is wrong; a form post is not an action.
      const bad = await post(d.url, { action: "explode", by: "alice" }, { authorization: `Bearer ${TOKEN}` });
      expect([bad.status, ((await bad.json()) as { error: string }).error]).toEqual([400, 'dashboard action: action must be one of pause, resume, promote_stage, promote, abort, emergency_rollback, received "explode"']);
      expect((await post(d.url, { action: "pause" }, { authorization: `Bearer ${TOKEN}` })).status).toBe(400);
      const form = await fetch(new URL("api/actions", d.url), { method: "POST", headers: { authorization: `Bearer ${TOKEN}`, "content-type": "application/x-www-form-urlencoded" }, body: "action=pause&by=x" });
      expect(form.status).toBe(415);

      const ok = await post(d.url, { action: "pause", by: "alice", reason: "p99 looks odd" }, { authorization: `Bearer ${TOKEN}` });
      expect(ok.status).toBe(202);
      const { commandId } = (await ok.json()) as { commandId: number };
      const c = await store.commands.get(commandId);
      expect([c?.target, c?.command, c?.requestedBy, c?.args, c?.status]).toEqual(["m1", "pause", "alice", { reason: "p99 looks odd" }, "pending"]);

      // An emergency goes through requestEmergencyRollback: share 0 in the store at once, a rollback queued.
      const em = await post(d.url, { action: "emergency_rollback", by: "bob" }, { authorization: `Bearer ${TOKEN}` });
      expect(em.status).toBe(202);
      const e = (await em.json()) as { commandId: number; shareZeroed: boolean };
      expect(e.shareZeroed).toBe(true);
      expect((await store.flags.get("pool_v2_share"))?.value).toBe(0);
      const ec = await store.commands.get(e.commandId);
      expect([ec?.command, ec?.requestedBy]).toEqual(["emergency_rollback", "bob"]);
    } finally {
      await d.close();
      await store.close();
    }
  });
});

describe("molt dashboard", () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnChild(tsCommand(repoPath("src/cli/molt.ts"), ...args), { stderr: "pipe", env: { ...process.env, MOLT_DASHBOARD_TOKEN: "", ...env } });
  const output = async (child: ReturnType<typeof run>) => {
    const [out, err, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
    return { out, err, code };
  };

  test("options are checked before a store is opened; a missing store is not created", async () => {
    const url = sqlite.fresh();
    const badPort = await output(run(["--store", url, "dashboard", "--port", "abc"]));
    expect([badPort.code, badPort.err.split("\n")[0]]).toEqual([2, 'error: --port must be an integer from 0 to 65535 (0 takes a free port), received "abc"']);
    const badToken = await output(run(["--store", url, "dashboard", "--port", "0"], { MOLT_DASHBOARD_TOKEN: "short" }));
    expect([badToken.code, badToken.err]).toEqual([2, expect.stringContaining("error: --token must be 16 to 256 visible ASCII characters")]);
    const missing = await output(run(["--store", url, "dashboard", "--port", "0"]));
    expect([missing.code, missing.err]).toEqual([1, expect.stringContaining("no store at")]);
    expect(existsSync(url.slice("sqlite:".length))).toBe(false);
  }, 30_000);

  test("serves the migration's dashboard, with the token from the environment, until SIGTERM", async () => {
    const url = sqlite.fresh();
    const store = await openStore(url);
    await store.decisions.record({ rolloutId: "m1", at: 1, kind: "started", stateFrom: "", stateTo: "active.stage", shareFrom: 0, shareTo: 500, reason: "go", inputs: {} });
    await store.close();
    const child = run(["--store", url, "--migration", "m1", "dashboard", "--port", "0"], { MOLT_DASHBOARD_TOKEN: TOKEN });
    const reader = child.stdout.getReader();
    let out = "";
    while (!out.includes("\n", out.indexOf("http://"))) {
      const chunk = await reader.read();
      if (chunk.done) break;
      out += new TextDecoder().decode(chunk.value);
    }
    const at = /http:\/\/127\.0\.0\.1:\d+\//.exec(out)?.[0];
    expect(at).toBeDefined();
    const s = (await (await fetch(new URL("api/snapshot", at))).json()) as DashboardSnapshot;
    expect([s.migrationId, s.readOnly, s.decisions.length]).toEqual(["m1", false, 1]);
    child.kill("SIGTERM");
    expect(await child.exited).toBe(0);
    reader.releaseLock();
  }, 30_000);
});
