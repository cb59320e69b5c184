/**
 * Streamed calls against real workers, pools and a router: items arrive as
 * the handler yields them (sync or async generator), the worker reads the
 * generator only as far as the host has room (credit), a consumer that
 * stops early cancels the call in Python, errors and deadlines end the
 * stream after the items before them, a stream is never retried once an
 * item reached the consumer, and a worker from before streams gives the
 * whole result as one item.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { createPool, isMoltError, type Worker } from "../../mod.ts";
import { fixture, PROCESS_TEST_TIMEOUT_MS, sleep, waitFor } from "../helpers.ts";
import { quiet, withWorker as withHandlerWorker } from "./helpers.ts";
import { arms, share } from "../routing/helpers.ts";

setDefaultTimeout(PROCESS_TEST_TIMEOUT_MS);

const handler = fixture("async_handler.py");
const withWorker = (options: object, body: (w: Worker) => Promise<void>) => withHandlerWorker({ handler, ...quiet, ...options }, body);

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/** The items before the stream failed, and the failure's tag and Python type. */
async function until<T>(items: AsyncIterable<T>): Promise<{ items: T[]; error: string }> {
  const out: T[] = [];
  try {
    for await (const item of items) out.push(item);
  } catch (e) {
    return { items: out, error: isMoltError(e) ? `${e._tag}${"type" in e ? `:${(e as { type: string }).type}` : ""}` : String(e) };
  }
  return { items: out, error: "none" };
}

describe("worker.stream", () => {
  test("items arrive in order from async and sync generators; a plain call of a generator gets the list; a command that does not yield is one item", () =>
    withWorker({}, async (w) => {
      expect(w.hello.minor).toBe(3);
      expect(await all(w.stream("tokens", { text: "the quick brown fox" }))).toEqual(["the", "quick", "brown", "fox"]);
      expect(await all(w.stream("count", { n: 5 }))).toEqual([0, 1, 2, 3, 4]);
      expect(await w.call("count", { n: 3 })).toEqual([0, 1, 2]);
      expect(await w.call("tokens", { text: "a b" })).toEqual(["a", "b"]);
      expect(await all(w.stream("echo", 5))).toEqual([{ args: 5, current: true }]);
      expect(await all(w.stream("count", { n: 0 }))).toEqual([]);
      const many = await all(w.stream<number>("count", { n: 5000 }, { window: 64 }));
      expect([many.length, many[4999]]).toEqual([5000, 4999]);
    }));

  test("backpressure: the worker reads the generator only as far as the host has room", () =>
    withWorker({}, async (w) => {
      const items = w.stream<number>("count", { n: 100_000 }, { window: 4 });
      expect(await items.next()).toEqual({ value: 0, done: false });
      await sleep(300);
      // One item taken, none credited back yet (credit returns in halves of the window): four read, no more.
      expect(await w.call("state", null)).toMatchObject({ produced: 4 });
      for (let i = 1; i < 10; i++) expect((await items.next()).value).toBe(i);
      await sleep(300);
      expect((await w.call<{ produced: number }>("state", null)).produced).toBeLessThanOrEqual(10 + 4);
      await items.return!();
    }));

  test("a consumer that stops early (break, or an exception in its loop) cancels the call: the generator is closed, the worker stays ready", () =>
    withWorker({}, async (w) => {
      for await (const word of w.stream("tokens", { text: "a b c d e f", delay: 0.05 })) if (word === "b") break;
      expect(await waitFor(async () => (await w.call<{ closed?: number }>("state", null)).closed === 1, 5000)).toBe(true);
      const thrown = await (async () => {
        for await (const _ of w.stream("tokens", { text: "x y z", delay: 0.05 })) throw new Error("consumer failed");
      })().catch((e: Error) => e.message);
      expect(thrown).toBe("consumer failed");
      expect(await waitFor(async () => (await w.call<{ closed?: number }>("state", null)).closed === 2, 5000)).toBe(true);
      expect((await w.call<{ produced: number }>("state", null)).produced).toBeLessThan(6);
      expect([w.state, w.stats().recycle, w.stats().cancels]).toEqual(["ready", null, 2]);
    }));

  test("an error ends the stream after the items before it: a handler that raises, a chunk JSON cannot carry, a deadline; the worker stays in sync", () =>
    withWorker({ threads: 2 }, async (w) => {
      expect(await until(w.stream("fails_midway", null))).toEqual({ items: ["first"], error: "PythonError:ValueError" });
      expect(await until(w.stream("bad_chunk", null))).toEqual({ items: [1], error: "PythonError:UnserializableResult" });
      const late = await until(w.stream("slow_count", { n: 100, delay: 0.1 }, { timeoutMs: 350 }));
      expect([late.error, late.items.length > 0, late.items.length < 5]).toEqual(["WorkerTimeoutError", true, true]);
      expect(await all(w.stream("count", { n: 3 }))).toEqual([0, 1, 2]);
      expect(() => w.stream("count", null, { window: 0 })).toThrow(/window must be an integer from 1 to 65536, received 0/);
    }));

  test("a worker from before streams (minor 0) gives the result as one item", () =>
    withWorker({ handler: fixture("echo_handler.py"), env: { PYTHONPATH: fixture("minor0") } }, async (w) => {
      expect(w.hello.minor).toBe(0);
      expect(await all(w.stream("echo", { a: 1 }))).toEqual([{ a: 1 }]);
    }));
});

describe("pool.stream and router.stream", () => {
  test("a pool streams, counts the call once, and never retries a stream that delivered an item", async () => {
    const pool = await createPool({ name: "s", handler, size: 2, ...quiet, retry: { attempts: 3 } });
    try {
      expect(await all(pool.stream("tokens", { text: "a b c" }))).toEqual(["a", "b", "c"]);
      expect([pool.stats().calls, pool.stats().ok]).toEqual([1, 1]);
      // Idempotent, and the worker died: retried as a call would be, unless an item reached the consumer.
      expect(await until(pool.stream("crash_midway", null, { idempotent: true }))).toEqual({ items: ["first"], error: "WorkerExitedError" });
      expect(pool.stats().retries).toBe(0);
      expect(await waitFor(() => pool.metrics().ready === 2, 20_000)).toBe(true);
    } finally {
      await pool.stop();
    }
  }, 60_000);

  test("a router streams from the arm the call is routed to", async () => {
    const a = await arms();
    try {
      expect(await all(a.router.stream("spell", { word: "ab" }))).toEqual([{ arm: "v1", c: "a" }, { arm: "v1", c: "b" }]);
      await share(a.flags, 10_000);
      expect(await waitFor(() => a.flags.share() === 10_000, 5000)).toBe(true);
      expect(await all(a.router.stream("spell", { word: "ab" }))).toEqual([{ arm: "v2", c: "a" }, { arm: "v2", c: "b" }]);
      expect(a.router.stats().v2).toBe(1);
    } finally {
      await a.stop();
    }
  }, 60_000);
});
