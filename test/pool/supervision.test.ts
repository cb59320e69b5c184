import { describe, expect, test } from "bun:test";
import { pidAlive, rejection, waitFor } from "../helpers.ts";
import { echoPool, ofType, pids } from "./helpers.ts";

describe("supervision of an enhanced pool", () => {
  test("a crashed worker is replaced; an idempotent call in flight on it succeeds by retry on another worker", async () => {
    const { pool, events } = await echoPool({ name: "v2", size: 2, minReady: 2, capacity: 1 });
    const [a, b] = pids(pool);
    // Both workers idle: least-loaded dispatch takes the first for the first call.
    const idempotent = pool.execute<number>("pid", { sleep: 0.5 }, { idempotent: true });
    const plain = pool.execute<number>("pid", { sleep: 0.5 });
    await waitFor(() => pool.stats().inFlight === 2, 1000);
    expect(pool.metrics().workers.map((w) => [w.pid, w.inFlight])).toEqual([[a!, 1], [b!, 1]]);
    process.kill(a!, "SIGKILL");
    expect(await plain).toBe(b!);
    const served = await idempotent;
    expect(served).not.toBe(a);
    expect(pool.stats().retries).toBeGreaterThanOrEqual(1);
    expect(await waitFor(() => pool.metrics().ready === 2, 5000)).toBe(true);
    expect(pool.stats()).toMatchObject({ crashes: 1, restarts: 1 });
    expect(ofType(events, "worker.exited").filter((e) => !e.expected).map((e) => e.pid)).toEqual([a!]);
    expect(ofType(events, "worker.started").filter((e) => e.replacing).length).toBe(1);
    await pool.stop();
  });

  test("without idempotent, a call in flight on a crashed worker fails with WorkerExitedError and is not retried", async () => {
    const { pool } = await echoPool({ name: "v2", size: 1 });
    const [a] = pids(pool);
    const plain = pool.execute("pid", { sleep: 5 });
    await waitFor(() => pool.stats().inFlight === 1, 1000);
    process.kill(a!, "SIGKILL");
    const e = await rejection(plain);
    expect(e._tag).toBe("WorkerExitedError");
    expect(e.written).toBe(true);
    expect(pool.stats().retries).toBe(0);
    await pool.stop();
  });

  test("a hung worker (call past its deadline) is recycled and replaced", async () => {
    const { pool, events } = await echoPool({ name: "v2", size: 1, shutdownGraceMs: 50, killGraceMs: 50, drainTimeoutMs: 50 });
    const [hung] = pids(pool);
    expect((await rejection(pool.execute("pid", { sleep: 10 }, { timeoutMs: 100 })))._tag).toBe("WorkerTimeoutError");
    expect(await waitFor(() => pool.metrics().ready === 1 && pids(pool)[0] !== hung, 5000)).toBe(true);
    expect(ofType(events, "worker.recycled").map((e) => e.reason)).toEqual(["deadline_overrun"]);
    expect(ofType(events, "worker.degraded").map((e) => e.reason)).toEqual(["deadline_overrun"]);
    expect(await waitFor(() => !pidAlive(hung!), 3000)).toBe(true);
    await pool.stop();
  });

  test("a worker that corrupts its stream is replaced; the call fails with ProtocolError", async () => {
    const { pool } = await echoPool({ name: "v2", size: 1 });
    const [broken] = pids(pool);
    expect((await rejection(pool.execute("garbage", null)))._tag).toBe("ProtocolError");
    expect(await waitFor(() => pool.metrics().ready === 1 && pids(pool)[0] !== broken, 5000)).toBe(true);
    expect(pool.stats().crashes).toBe(1);
    expect(await pool.execute("echo", "fine")).toBe("fine");
    await pool.stop();
  });

  test("maxRequestsPerWorker recycles workers without failing a call", async () => {
    const { pool, events } = await echoPool({ name: "v2", size: 1, maxRequestsPerWorker: 5 });
    const seen = new Set<number>();
    for (let i = 0; i < 12; i++) seen.add(await pool.execute<number>("pid", {}));
    expect(seen.size).toBe(3);
    expect(ofType(events, "worker.recycled").map((e) => e.reason)).toEqual(["max_requests", "max_requests"]);
    expect(pool.stats().failed).toBe(0);
    await pool.stop();
  });

  test("maxRssBytes recycles a worker whose sampled RSS grew past the limit", async () => {
    const { pool, events } = await echoPool({ name: "v2", size: 1, maxRssBytes: 80_000_000, sampleEveryMs: 20 });
    const [fat] = pids(pool);
    await pool.execute("hog", { bytes: 100_000_000 });
    expect(await waitFor(() => ofType(events, "worker.recycled").length === 1, 3000)).toBe(true);
    expect(ofType(events, "worker.recycled")[0]).toMatchObject({ reason: "max_rss", pid: fat });
    expect(ofType(events, "worker.sampled").some((e) => e.rssBytes > 80_000_000)).toBe(true);
    expect(await waitFor(() => pool.metrics().ready === 1 && pids(pool)[0] !== fat, 5000)).toBe(true);
    await pool.stop();
  });

  test("3 consecutive infrastructure failures on one worker replace it", async () => {
    const { pool, events } = await echoPool({ name: "v2", size: 1, recycleOnOverrun: false, breaker: false, drainTimeoutMs: 50, shutdownGraceMs: 50, killGraceMs: 50 });
    const [w] = pids(pool);
    for (let i = 0; i < 3; i++) {
      expect((await rejection(pool.execute("pid", { sleep: 0.1 }, { timeoutMs: 20 })))._tag).toBe("WorkerTimeoutError");
      // The cancelled call ends within its grace; until it has, the pool sends that worker nothing new.
      expect(await waitFor(() => pool.metrics().workers.every((w) => w.cancelling === 0), 5000)).toBe(true);
    }
    expect(ofType(events, "worker.recycled").map((e) => e.reason)).toEqual(["consecutive_failures"]);
    expect(await waitFor(() => pool.metrics().ready === 1 && pids(pool)[0] !== w, 5000)).toBe(true);
    await pool.stop();
  });

  test("missed heartbeats degrade a worker, which is then replaced; its call still completes", async () => {
    const { pool, events } = await echoPool({ name: "v2", size: 1, heartbeatMs: 30, heartbeatTimeoutMs: 30, unhealthyAfterMisses: 2 });
    const [stuck] = pids(pool);
    expect(await pool.execute("busy", { seconds: 0.5 })).toBeNull();
    expect(ofType(events, "worker.recycled").map((e) => e.reason)).toEqual(["heartbeat"]);
    expect(await waitFor(() => pool.metrics().ready === 1 && pids(pool)[0] !== stuck, 5000)).toBe(true);
    await pool.stop();
  });

  test("overflow: a queue that stays non-empty starts an extra worker, stopped again once idle", async () => {
    const { pool, events } = await echoPool({ name: "v2", size: 1, capacity: 1, maxOverflow: 1, overflowAfterMs: 40, overflowIdleMs: 500 });
    // Two seconds of queued work: the extra worker starts while it lasts, however slowly a busy machine starts a process.
    const first = Array.from({ length: 8 }, () => pool.execute<number>("pid", { sleep: 0.25 }));
    expect(await waitFor(() => pool.metrics().ready === 2, 10_000)).toBe(true);
    const more = Array.from({ length: 4 }, () => pool.execute<number>("pid", { sleep: 0.1 }));
    const served = await Promise.all([...first, ...more]);
    expect(new Set(served).size).toBe(2);
    expect(ofType(events, "pool.scaled").map((e) => e.reason)).toContain("overflow");
    expect(await waitFor(() => ofType(events, "pool.scaled").some((e) => e.reason === "overflow_idle"), 5000)).toBe(true);
    expect(await waitFor(() => pool.metrics().workers.length === 1, 3000)).toBe(true);
    expect(pool.metrics().workers[0]!.overflow).toBe(false);
    await pool.stop();
  }, 30_000);

  test("the optimizer shrinks an idle pool toward minSize and grows a busy one up to maxSize", async () => {
    const { pool, events } = await echoPool({
      name: "v2",
      size: 2,
      minReady: 2,
      minSize: 1,
      maxSize: 3,
      capacity: 1,
      optimizer: { enabled: true, intervalMs: 40, cooldownMs: 0 },
    });
    expect(await waitFor(() => pool.metrics().size === 1, 3000)).toBe(true);
    expect(ofType(events, "worker.recycled").map((e) => e.reason)).toContain("scaled_down");
    const busy = Array.from({ length: 12 }, () => pool.execute("pid", { sleep: 0.1 }, { timeoutMs: 10_000 }));
    expect(await waitFor(() => ofType(events, "pool.scaled").some((e) => e.reason === "utilisation_high"), 3000)).toBe(true);
    await Promise.all(busy);
    await pool.stop();
  });

  test("the breaker opens after consecutive crashes and refuses calls at once", async () => {
    const { pool, events } = await echoPool({ name: "v2", size: 1, breaker: { consecutiveFailures: 2, halfOpenAfterMs: 60_000 }, retry: false });
    for (let i = 0; i < 2; i++) {
      expect((await rejection(pool.execute("crash", {})))._tag).toBe("WorkerExitedError");
      await waitFor(() => pool.metrics().ready === 1, 5000);
    }
    const refused = await rejection(pool.execute("echo", 1));
    expect(refused._tag).toBe("BreakerOpenError");
    expect(pool.metrics().breaker).toBe("open");
    expect(ofType(events, "breaker.changed").map((e) => e.to)).toEqual(["open"]);
    expect((await pool.health()).healthy).toBe(false);
    expect(JSON.stringify(pool.breakerState())).toContain('"openedAt"');
    await pool.stop();
  });
});

describe("drain and stop", () => {
  test("drain refuses new calls, lets in-flight calls finish and reports counts", async () => {
    const { pool } = await echoPool({ name: "v2", size: 1 });
    const inFlight = [pool.execute("pid", { sleep: 0.1 }), pool.execute("pid", { sleep: 0.1 })];
    const draining = pool.drain({ deadlineMs: 5000 });
    const refused = await rejection(pool.execute("echo", 1));
    expect(refused._tag).toBe("PoolDrainingError");
    const report = await draining;
    expect(report).toMatchObject({ completed: 2, failed: 0, rejected: 1 });
    expect((await Promise.allSettled(inFlight)).every((r) => r.status === "fulfilled")).toBe(true);
    expect(pool.state).toBe("draining");
    await pool.stop();
    expect(pool.state).toBe("stopped");
  });

  test("drain fails what is left at the deadline with PoolDrainingError, queued calls included", async () => {
    const { pool } = await echoPool({ name: "v2", size: 1, capacity: 1 });
    const slow = pool.execute("pid", { sleep: 2 });
    const queued = pool.execute("echo", 1);
    const report = await pool.drain({ deadlineMs: 50 });
    expect(report).toMatchObject({ completed: 0, failed: 2 });
    expect((await rejection(slow))._tag).toBe("PoolDrainingError");
    expect((await rejection(queued))._tag).toBe("PoolDrainingError");
    const all = pids(pool);
    await pool.stop();
    expect(all.some(pidAlive)).toBe(false);
  });

  test("stop() during start-up leaves no process; stop() is safe to repeat", async () => {
    const { pool } = await echoPool({ name: "v2", size: 3, minReady: 1 });
    const all = () => pool.metrics().workers.map((w) => w.pid);
    const seen = new Set(all());
    await Promise.all([pool.stop(), pool.stop()]);
    for (const pid of [...seen, ...all()]) expect(pidAlive(pid)).toBe(false);
    expect((await rejection(pool.execute("echo", 1)))._tag).toBe("PoolDrainingError");
  });
});
