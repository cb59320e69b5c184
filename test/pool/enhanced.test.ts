import { describe, expect, test } from "bun:test";
import { pidAlive, rejection, waitFor } from "../helpers.ts";
import { echoPool, ofType, pids } from "./helpers.ts";

describe('strategy "enhanced" (V2): dispatch, affinity, queue', () => {
  test("workers start concurrently and the pool serves once minReady are ready", async () => {
    const { pool, events } = await echoPool({ name: "v2", size: 3, minReady: 1 });
    const started = ofType(events, "worker.started");
    expect(started.length).toBeGreaterThanOrEqual(1);
    await waitFor(() => pool.metrics().ready === 3, 5000);
    const all = ofType(events, "worker.started");
    // Every start began before the first worker was ready.
    for (const s of all) expect(s.at - s.startMs).toBeLessThan(all[0]!.at);
    await pool.stop();
  });

  test("pipelines up to capacity per worker, least-loaded first", async () => {
    const { pool } = await echoPool({ name: "v2", size: 2, minReady: 2, capacity: 4 });
    const calls = Array.from({ length: 10 }, () => pool.execute("pid", { sleep: 0.05 }));
    await waitFor(() => pool.stats().inFlight === 8, 1000);
    expect(pool.stats().inFlight).toBe(8);
    expect(pool.stats().queued).toBe(2);
    expect(pool.metrics().workers.map((w) => w.inFlight)).toEqual([4, 4]);
    const served = await Promise.all(calls);
    expect(new Set(served).size).toBe(2);
    await pool.stop();
  });

  test('affinity "hint": a session returns to the worker that last served it', async () => {
    const { pool } = await echoPool({ name: "v2", size: 3, minReady: 3 });
    for (const session of ["s1", "s2", "s3", "s4"]) {
      const first = await pool.execute("pid", {}, { sessionId: session });
      for (let i = 0; i < 5; i++) expect(await pool.execute("pid", {}, { sessionId: session })).toBe(first);
    }
    await pool.stop();
  });

  test('affinity "hint": a busy session worker does not hold the call back', async () => {
    const { pool } = await echoPool({ name: "v2", size: 2, minReady: 2, capacity: 1 });
    const home = await pool.execute<number>("pid", {}, { sessionId: "s" });
    const busy = pool.execute("pid", { sleep: 0.3 }, { sessionId: "s" });
    expect(await pool.execute("pid", {}, { sessionId: "s" })).not.toBe(home);
    await busy;
    await pool.stop();
  });

  test('affinity "strict": waits for the session worker, and fails with SessionWorkerLostError once it died', async () => {
    const { pool } = await echoPool({ name: "v2", size: 2, minReady: 2, capacity: 1, affinity: "strict" });
    const home = await pool.execute<number>("pid", {}, { sessionId: "s" });
    const busy = pool.execute("pid", { sleep: 0.1 }, { sessionId: "s" });
    expect(await pool.execute("pid", {}, { sessionId: "s" })).toBe(home);
    await busy;
    process.kill(home, "SIGKILL");
    await waitFor(() => !pids(pool).includes(home), 2000);
    const lost = await rejection(pool.execute("pid", {}, { sessionId: "s" }));
    expect(lost._tag).toBe("SessionWorkerLostError");
    expect(lost.message).toContain('held session "s" is gone');
    expect(await pool.execute("pid", {}, { sessionId: "fresh" })).toBeNumber();
    await pool.stop();
  });

  test("a strict waiter queued for a worker that dies fails with SessionWorkerLostError", async () => {
    const { pool } = await echoPool({ name: "v2", size: 2, minReady: 2, capacity: 1, affinity: "strict" });
    const home = await pool.execute<number>("pid", {}, { sessionId: "s" });
    const blocker = pool.execute("pid", { sleep: 5 }, { sessionId: "s" });
    await waitFor(() => pool.stats().inFlight === 1, 1000);
    const waiting = pool.execute("pid", {}, { sessionId: "s" });
    await waitFor(() => pool.stats().queued === 1, 1000);
    process.kill(home, "SIGKILL");
    expect((await rejection(blocker))._tag).toBe("WorkerExitedError");
    expect((await rejection(waiting))._tag).toBe("SessionWorkerLostError");
    await pool.stop();
  });

  test("a full queue refuses at once with PoolSaturatedError; a long wait fails with QueueTimeoutError", async () => {
    const { pool } = await echoPool({ name: "v2", size: 1, capacity: 1, maxQueue: 2, queueTimeoutMs: 100 });
    const busy = pool.execute("pid", { sleep: 0.3 });
    const queued = [pool.execute("echo", 1), pool.execute("echo", 2)];
    const refused = await rejection(pool.execute("echo", 3));
    expect(refused._tag).toBe("PoolSaturatedError");
    expect(refused.message).toBe('pool v2: queue full (2 of 2 waiting), refused "echo"');
    for (const q of queued) expect((await rejection(q))._tag).toBe("QueueTimeoutError");
    await busy;
    expect(pool.stats().rejected).toBe(3);
    await pool.stop();
  });

  test("a call's own timeoutMs bounds its wait in the queue; an abort signal takes it out of the queue", async () => {
    const { pool } = await echoPool({ name: "v2", size: 1, capacity: 1 });
    const busy = pool.execute("pid", { sleep: 0.3 });
    const short = await rejection(pool.execute("echo", 1, { timeoutMs: 30 }));
    expect(short._tag).toBe("QueueTimeoutError");
    // What was left of its 30 ms when it was queued, not the pool's queueTimeoutMs (5 s): 30 when nothing came
    // between the call and the queue, 22 once with the suite beside two busy loops.
    expect(short.limitMs).toBeLessThanOrEqual(30);
    const controller = new AbortController();
    const aborted = pool.execute("echo", 1, { signal: controller.signal });
    controller.abort();
    const e = await rejection(aborted);
    expect(e._tag).toBe("CallAbortedError");
    expect(e.written).toBe(false);
    expect(pool.stats().queued).toBe(0);
    await busy;
    await pool.stop();
  });

  test("per-call options are validated", async () => {
    const { pool } = await echoPool({ name: "v2", size: 1 });
    expect((await rejection(pool.execute("echo", 1, { timeoutMs: -5 }))).message).toBe(
      'pool "v2" execute: timeoutMs must be a positive number of milliseconds, at most 2147483647 (the longest a timer can wait, about 24.8 days), received -5',
    );
    expect((await rejection(pool.execute("", 1))).option).toBe("command");
    expect((await rejection(pool.execute("echo", 1, { idempotent: "yes" as never }))).option).toBe("idempotent");
    await pool.stop();
  });

  test("health() asks every worker; metrics() reports the window and the gauges", async () => {
    const { pool } = await echoPool({ name: "v2", size: 2, minReady: 2 });
    for (let i = 0; i < 10; i++) await pool.execute("echo", i);
    await rejection(pool.execute("fail", {}));
    const health = await pool.health();
    expect(health.healthy).toBe(true);
    expect(health.workers.length).toBe(2);
    for (const w of health.workers) expect(w.rssBytes).toBeGreaterThan(1_000_000);
    const m = pool.metrics();
    expect(m.calls).toBe(11);
    expect(m.outcomes).toEqual({ ok: 10, python_error: 1, failed: 0, rejected: 0 });
    expect(m.categories).toEqual({ python: 1 });
    expect(m.latencyMs.p50).toBeGreaterThan(0);
    expect(m.ready).toBe(2);
    expect(m.breaker).toBe("closed");
    const all = pids(pool);
    await pool.stop();
    expect(all.some(pidAlive)).toBe(false);
  });
});
