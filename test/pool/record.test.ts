import { describe, expect, test } from "bun:test";
import { createPool } from "../../mod.ts";
import { fixture, rejection, sleep } from "../helpers.ts";
import { echoPool } from "./helpers.ts";

describe("what a pool records", () => {
  test("stderr(): the last lines of each running worker, and of workers that exited (crashed or stopped)", async () => {
    const { pool } = await echoPool({ size: 1, stderrTailLines: 3, restartInitialMs: 10 });
    await pool.execute("chatty");
    const [live] = pool.stderr();
    expect(live).toMatchObject({ exited: false, exitCode: null, lines: ["hello from print()", "written to fd 1"] });
    await pool.execute("crash", { code: 7 }).catch(() => {});
    while (pool.metrics().ready < 1) await sleep(10);
    const afterCrash = pool.stderr();
    expect(afterCrash.map((w) => w.exited)).toEqual([false, true]);
    expect(afterCrash[1]).toMatchObject({ workerId: live!.workerId, pid: live!.pid, exitCode: 7, lines: ["hello from print()", "written to fd 1"] });
    await pool.stop();
    const stopped = pool.stderr();
    expect(stopped).toHaveLength(2);
    expect(stopped.every((w) => w.exited)).toBe(true);
  });

  test("a probe call is served, but not counted: no counter, no window, no event; probe must be a boolean", async () => {
    const { pool, events } = await echoPool({ size: 1 });
    try {
      expect(await pool.execute("echo", "seen", { probe: true })).toBe("seen");
      expect((await rejection(pool.execute("fail", {}, { probe: true })))._tag).toBe("PythonError");
      expect([pool.stats().calls, pool.stats().pythonErrors, pool.metrics().calls, events.filter((e) => e.type === "call.completed").length]).toEqual([0, 0, 0, 0]);
      await pool.execute("echo", "counted");
      expect([pool.stats().calls, pool.metrics().calls]).toEqual([1, 1]);
      const bad = await rejection(pool.execute("echo", 1, { probe: "yes" as never }));
      expect([bad._tag, bad.message]).toEqual(["ConfigError", 'pool "p" execute: probe must be a boolean, received "yes"']);
    } finally {
      await pool.stop();
    }
  });

  test("configuration(): every resolved option as JSON, env values hidden, nothing that is not data", async () => {
    const pool = await createPool({ name: "v1", strategy: "basic", handler: fixture("echo_handler.py"), size: 1, heartbeatMs: 0, env: { API_KEY: "secret" }, onStderr: () => {} });
    try {
      const c = pool.configuration() as Record<string, unknown> & { worker: Record<string, unknown> };
      expect(c).toMatchObject({ name: "v1", strategy: "basic", size: 1, capacity: 1, breaker: false, retry: null, events: false, store: false, flags: false, windowMs: 60_000 });
      expect(c.worker).toMatchObject({ heartbeatMs: 0, callTimeoutMs: 30_000, env: { API_KEY: "(set)" }, stderrTailLines: 20 });
      expect(JSON.stringify(c)).not.toContain("secret");
      expect(typeof c.worker.python).toBe("string");
      expect(JSON.parse(JSON.stringify(c))).toEqual(c);
    } finally {
      await pool.stop();
    }
  });
});
