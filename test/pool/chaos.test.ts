import { expect, test } from "bun:test";
import { pidAlive, waitFor } from "../helpers.ts";
import { echoPool, ofType, pids } from "./helpers.ts";

/** A deterministic pseudo-random sequence, so a failing run can be replayed. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32;
}

test("chaos: 2,000 calls over 4 workers while workers are killed, hang, corrupt their stream and exit", async () => {
  const random = lcg(20261121);
  // Sized for a busy machine, where a worker takes a second to restart and calls queue meanwhile.
  const timeoutMs = 20_000;
  const grace = 250;
  const { pool, events } = await echoPool({
    name: "v2",
    size: 4,
    minReady: 4,
    capacity: 8,
    maxQueue: 2000,
    queueTimeoutMs: timeoutMs,
    retry: { attempts: 6, initialDelayMs: 5, maxDelayMs: 100 },
    restartInitialMs: 10,
    drainTimeoutMs: 100,
    shutdownGraceMs: 100,
    killGraceMs: 100,
  });
  const seenPids = new Set(pids(pool));
  const faults = { kill: 0, hang: 0, garbage: 0, exit: 0 };
  let running = true;
  let succeeded = 0;
  // Faults are paced by the pool's progress, not by the clock: each waits for 20–60 more calls to
  // succeed and for two workers to be ready. At a fixed rate, a busy machine restarts workers slower
  // than they are killed, and calls wait out their deadline for one.
  const injector = (async () => {
    while (running) {
      const after = succeeded + 20 + Math.floor(random() * 40);
      await waitFor(() => !running || (succeeded >= after && pool.metrics().ready >= 2), 120_000);
      if (!running) break;
      for (const pid of pids(pool)) seenPids.add(pid);
      const roll = random();
      if (roll < 0.25) {
        const live = pids(pool);
        if (live.length === 0) continue;
        process.kill(live[Math.floor(random() * live.length)]!, "SIGKILL");
        faults.kill++;
      } else if (roll < 0.5) {
        faults.hang++;
        void pool.execute("sleep", { seconds: 3 }, { timeoutMs: 100 }).catch(() => {});
      } else if (roll < 0.75) {
        faults.garbage++;
        void pool.execute("garbage", null).catch(() => {});
      } else {
        faults.exit++;
        void pool.execute("crash", { code: 9 }).catch(() => {});
      }
    }
  })();

  const settled: { ok: boolean; idempotent: boolean; tag: string | null; lateMs: number }[] = [];
  const calls = Array.from({ length: 2000 }, async (_, i) => {
    await new Promise((r) => setTimeout(r, Math.floor(i * 1.5)));
    const idempotent = i % 2 === 0;
    const started = performance.now();
    try {
      const value = await pool.execute(idempotent ? "echo" : "pid", idempotent ? { i } : { sleep: 0.005 }, { timeoutMs, idempotent });
      if (idempotent) expect(value).toEqual({ i });
      succeeded++;
      settled.push({ ok: true, idempotent, tag: null, lateMs: performance.now() - started - timeoutMs });
    } catch (e) {
      settled.push({ ok: false, idempotent, tag: (e as { _tag?: string })._tag ?? "untagged", lateMs: performance.now() - started - timeoutMs });
    }
  });
  await Promise.all(calls);
  running = false;
  await injector;

  expect(settled.length).toBe(2000);
  expect(settled.filter((s) => s.tag === "untagged")).toEqual([]);
  expect(Math.max(...settled.map((s) => s.lateMs))).toBeLessThan(grace);
  expect(settled.filter((s) => s.idempotent && !s.ok).map((s) => s.tag)).toEqual([]);
  const failedTags = new Set(settled.filter((s) => !s.ok).map((s) => s.tag));
  for (const tag of failedTags) expect(["WorkerExitedError", "ProtocolError", "WorkerTimeoutError", "PoolDrainingError"]).toContain(tag!);
  expect(faults.kill + faults.hang + faults.garbage + faults.exit).toBeGreaterThan(20);
  expect(ofType(events, "worker.exited").filter((e) => !e.expected).length).toBeGreaterThan(0);
  // Faults hit one worker at a time: the pool's gate never opened, whatever the positions' breakers did.
  expect(ofType(events, "breaker.changed")).toEqual([]);

  expect(await waitFor(() => pool.metrics().ready === 4, 10_000)).toBe(true);
  for (const pid of pids(pool)) seenPids.add(pid);
  await pool.stop();
  expect([...seenPids].filter(pidAlive)).toEqual([]);
  console.log(
    `chaos: faults ${JSON.stringify(faults)}, failed ${settled.filter((s) => !s.ok).length} (non-idempotent), ` +
      `retries ${pool.stats().retries}, crashes ${pool.stats().crashes}, recycled ${pool.stats().recycled}, restarts ${pool.stats().restarts}, ` +
      `worker breakers opened ${ofType(events, "worker.breaker.changed").filter((e) => e.to === "open").length}`,
  );
}, 120_000);
