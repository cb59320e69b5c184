import { describe, expect, test } from "bun:test";
import { pidAlive, rejection, waitFor } from "../helpers.ts";
import { echoPool, ofType, pids } from "./helpers.ts";

describe('strategy "basic" (V1)', () => {
  test("one call per worker at a time; the rest wait in a FIFO queue and run in arrival order", async () => {
    const { pool } = await echoPool({ name: "v1", strategy: "basic", size: 1 });
    const order: string[] = [];
    const calls = ["a", "b", "c", "d"].map((tag) => pool.execute("pid", { sleep: 0.02 }).then(() => order.push(tag)));
    expect(pool.stats().inFlight).toBe(1);
    expect(pool.stats().queued).toBe(3);
    await Promise.all(calls);
    expect(order).toEqual(["a", "b", "c", "d"]);
    await pool.stop();
  });

  test("workers start one after another: each start begins after the previous worker is ready", async () => {
    const { pool, events } = await echoPool({ name: "v1", strategy: "basic", size: 3 });
    const started = ofType(events, "worker.started");
    expect(started.length).toBe(3);
    for (let i = 1; i < started.length; i++) {
      expect(started[i]!.at - started[i]!.startMs).toBeGreaterThanOrEqual(started[i - 1]!.at - 2);
    }
    await pool.stop();
  });

  test("no retry: a killed worker's call fails, the worker is replaced, the pool never hangs", async () => {
    const { pool } = await echoPool({ name: "v1", strategy: "basic", size: 1 });
    const [pid] = pids(pool);
    const call = pool.execute("pid", { sleep: 5 }, { idempotent: true });
    await waitFor(() => pool.stats().inFlight === 1, 1000);
    process.kill(pid!, "SIGKILL");
    expect((await rejection(call))._tag).toBe("WorkerExitedError");
    expect(pool.stats().retries).toBe(0);
    expect(await waitFor(() => pool.metrics().ready === 1, 5000)).toBe(true);
    expect(await pool.execute("echo", 1)).toBe(1);
    const all = pids(pool);
    await pool.stop();
    expect(all.some(pidAlive)).toBe(false);
  });

  test("a call waiting longer than queueTimeoutMs fails with QueueTimeoutError", async () => {
    const { pool } = await echoPool({ name: "v1", strategy: "basic", size: 1, queueTimeoutMs: 50 });
    const busy = pool.execute("pid", { sleep: 0.3 });
    const e = await rejection(pool.execute("echo", 1));
    expect(e._tag).toBe("QueueTimeoutError");
    expect(e.limitMs).toBe(50);
    await busy;
    await pool.stop();
  });
});
