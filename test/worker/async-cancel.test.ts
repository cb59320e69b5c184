/**
 * Async handlers and cancellation against real workers: async and sync
 * commands in one file, the concurrency limit, the call's context through
 * contextvars, and a cancel (an abort or a deadline) reaching an async
 * handler at its next await or a sync one through ctx.cancelled, with the
 * worker replaced only when a cancelled call runs past the grace period.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { createPool, type Worker } from "../../mod.ts";
import { fixture, PROCESS_TEST_TIMEOUT_MS, rejection, sleep, waitFor } from "../helpers.ts";
import { quiet, withWorker as withHandlerWorker } from "./helpers.ts";

setDefaultTimeout(PROCESS_TEST_TIMEOUT_MS);

const handler = fixture("async_handler.py");
const withWorker = (options: object, body: (w: Worker) => Promise<void>) => withHandlerWorker({ handler, ...quiet, ...options }, body);

describe("async handlers", () => {
  test("async and sync commands share a file; 200 async calls run at once on one worker; ctx is the current context", () =>
    withWorker({ concurrency: 200 }, async (w) => {
      expect([w.hello.minor, w.hello.concurrency]).toEqual([3, 200]);
      // Each call returns once all 200 are in (met), which they never are if the worker runs them one at a time.
      const results = await Promise.all(Array.from({ length: 200 }, () => w.call<{ met: boolean; current: boolean }>("together", { n: 200, seconds: 20 })));
      expect(results.filter((r) => r.met).length).toBe(200);
      expect(results.every((r) => r.current)).toBe(true);
      expect(await w.call("echo", 1)).toEqual({ args: 1, current: true });
      const deep = await w.call<{ id: number; inner: number }>("deep_context", null);
      expect(deep.inner).toBe(deep.id);
    }));

  test("the concurrency limit holds the rest back: with 2 slots, 6 naps of 200 ms answer in three waves", () =>
    withWorker({ concurrency: 2 }, async (w) => {
      const t = performance.now();
      const done: number[] = [];
      await Promise.all(Array.from({ length: 6 }, () => w.call("nap", { seconds: 0.2 }).then(() => done.push(performance.now() - t))));
      // Never more than two at once: the last pair cannot finish before three naps' time.
      expect(Math.max(...done)).toBeGreaterThanOrEqual(600);
      expect(await w.call("peak", null)).toBe(2);
    }));

  test("a handler that raises BaseException or returns what JSON cannot carry fails that call only", () =>
    withWorker({}, async (w) => {
      expect(await rejection(w.call("raises_base", null))).toMatchObject({ _tag: "PythonError", type: "SystemExit" });
      expect(await rejection(w.call("not_json", null))).toMatchObject({ _tag: "PythonError", type: "UnserializableResult" });
      expect(await w.call("echo", "still here")).toMatchObject({ args: "still here" });
    }));
});

test("a worker that serves only synchronous commands never imports asyncio (35 ms of every start)", () =>
  withHandlerWorker({ handler: fixture("echo_handler.py"), ...quiet, threads: 2 }, async (w) => {
    const controller = new AbortController();
    const call = w.call("sleep", { seconds: 0.2 }, { signal: controller.signal });
    controller.abort();
    await call.catch(() => {});
    expect(await w.call("loaded", ["asyncio"])).toEqual([]);
    await w.call("nap", { seconds: 0 });
    expect(await w.call("loaded", ["asyncio"])).toEqual(["asyncio"]);
  }));

describe("cancellation", () => {
  test("an abort rejects at once with CallAbortedError, the async handler gets CancelledError, and the worker stays ready", () =>
    withWorker({}, async (w) => {
      const controller = new AbortController();
      const call = w.call("cancellable", { seconds: 30 }, { signal: controller.signal });
      await sleep(100);
      controller.abort();
      expect(await rejection(call)).toMatchObject({ _tag: "CallAbortedError", command: "cancellable", written: true });
      expect(await waitFor(async () => (await w.health()).cancelled === 1, 5000)).toBe(true);
      expect(await w.call("state", null)).toMatchObject({ cleaned: 1 });
      expect([w.state, w.stats().cancels, w.stats().recycle]).toEqual(["ready", 1, null]);
    }));

  test("a deadline cancels too: the caller gets WorkerTimeoutError, the cancel frame reaches a sync handler on a handler thread, which stops, and the worker is not recycled", () =>
    withWorker({ threads: 2, cancelGraceMs: 1000 }, async (w) => {
      expect(await rejection(w.call("cooperative", { seconds: 30, frame_only: true }, { timeoutMs: 200 }))).toMatchObject({ _tag: "WorkerTimeoutError" });
      expect(await waitFor(async () => ((await w.call<{ stopped_early: number }>("state", null)).stopped_early === 1), 5000)).toBe(true);
      await sleep(1200);
      expect([w.state, w.stats().recycle]).toEqual(["ready", null]);
    }));

  test("an abort reaches a sync handler on a handler thread: ctx.cancelled turns true long before its deadline", () =>
    withWorker({ threads: 2, cancelGraceMs: 60_000 }, async (w) => {
      const controller = new AbortController();
      const call = w.call("cooperative", { seconds: 30 }, { signal: controller.signal, timeoutMs: 60_000 });
      await sleep(100);
      controller.abort();
      expect((await rejection(call))._tag).toBe("CallAbortedError");
      expect(await waitFor(async () => ((await w.call<{ stopped_early: number }>("state", null)).stopped_early === 1), 5000)).toBe(true);
      expect(w.stats().lateResponses).toBe(1);
    }));

  test("an async handler that never awaits cannot be cancelled: past the grace period the worker is marked for recycling", () =>
    withWorker({ cancelGraceMs: 300 }, async (w) => {
      const controller = new AbortController();
      const call = w.call("never_awaits", { seconds: 3 }, { signal: controller.signal });
      await sleep(100);
      controller.abort();
      expect((await rejection(call))._tag).toBe("CallAbortedError");
      expect(await waitFor(() => w.stats().recycle === "deadline_overrun", 5000)).toBe(true);
    }));

  test("a cancel for a call that already finished, or one that swallows the cancel, leaves the worker in sync", () =>
    withWorker({}, async (w) => {
      const controller = new AbortController();
      expect(await w.call("nap", { seconds: 0 }, { signal: controller.signal })).toMatchObject({ current: true });
      controller.abort();
      const swallowing = new AbortController();
      const call = w.call("swallows_cancel", { seconds: 30 }, { signal: swallowing.signal });
      await sleep(100);
      swallowing.abort();
      expect((await rejection(call))._tag).toBe("CallAbortedError");
      // Its answer arrives, late, and is dropped; the next calls are answered as usual.
      expect(await waitFor(() => w.stats().lateResponses === 1, 5000)).toBe(true);
      expect(await Promise.all([1, 2, 3].map((i) => w.call("echo", i)))).toEqual([1, 2, 3].map((i) => ({ args: i, current: true })));
      expect(w.stats().recycle).toBe(null);
    }));

  test("calls waiting for a concurrency slot are cancelled without running", () =>
    withWorker({ concurrency: 1 }, async (w) => {
      const first = w.call("cancellable", { seconds: 0.5 });
      const controller = new AbortController();
      const waiting = w.call("cancellable", { seconds: 30 }, { signal: controller.signal });
      await sleep(100);
      controller.abort();
      expect((await rejection(waiting))._tag).toBe("CallAbortedError");
      expect(await first).toBe("slept");
      // It never started, so its handler never saw a CancelledError to clean up after.
      expect(await w.call("state", null)).toMatchObject({ cleaned: 0 });
      expect((await w.health()).cancelled).toBe(1);
    }));

  test("a worker of minor 0 is never sent a cancel: its overrun marks it for recycling at once, as before", () =>
    withWorker({ handler: fixture("echo_handler.py"), threads: 2, env: { PYTHONPATH: fixture("minor0") } }, async (w) => {
      expect(w.hello.minor).toBe(0);
      const controller = new AbortController();
      const aborted = w.call("sleep", { seconds: 0.3 }, { signal: controller.signal });
      controller.abort();
      expect((await rejection(aborted))._tag).toBe("CallAbortedError");
      expect((await rejection(w.call("sleep", { seconds: 1 }, { timeoutMs: 50 })))._tag).toBe("WorkerTimeoutError");
      expect([w.stats().cancels, w.state, w.stats().recycle]).toEqual([0, "degraded", "deadline_overrun"]);
    }));

  test("a pool sends nothing new to a worker whose cancelled call still runs, and serves the next call as soon as it ends", async () => {
    const pool = await createPool({ name: "c", handler, size: 1, ...quiet, cancelGraceMs: 5000 });
    try {
      const controller = new AbortController();
      const first = pool.execute("cancellable", { seconds: 30 }, { signal: controller.signal });
      await sleep(100);
      controller.abort();
      expect((await rejection(first))._tag).toBe("CallAbortedError");
      // Queued behind the cancel, not lost, and not left waiting for the grace period or its deadline.
      const t = performance.now();
      expect(await pool.execute("echo", 1, { timeoutMs: 4000 })).toMatchObject({ args: 1 });
      expect(performance.now() - t).toBeLessThan(4000);
      expect(pool.metrics().workers.map((w) => w.state)).toEqual(["ready"]);
    } finally {
      await pool.stop();
    }
  });
});
