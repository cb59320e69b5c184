/**
 * SQLite under another process's write lock: a write waits for the lock
 * without blocking the event loop, lands once the lock is released, and
 * after the deadline fails with a StoreError saying it gave up and after how
 * long, having written nothing. Single statements, transactions and opening
 * a store behave alike; reads do not wait at all. The other writer is a real
 * process (test/fixtures/hold-sqlite-lock.ts).
 */
import { afterAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStore, type Store } from "../../mod.ts";
import { fixture, killChildren, lines, rejection, spawnChild, tsCommand } from "../helpers.ts";

/** How long the other process holds the lock while a write waits for it. */
const HOLD_MS = 1500;
/** The largest event-loop gap allowed meanwhile: far below HOLD_MS, generous for a loaded machine. */
const MAX_GAP_MS = 200;

const dirs: string[] = [];
afterAll(() => {
  killChildren();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A fresh, migrated store file. */
async function freshStore(options: { busyTimeoutMs?: number } = {}): Promise<{ path: string; store: Store }> {
  const dir = mkdtempSync(join(tmpdir(), "molt-lock-"));
  dirs.push(dir);
  const path = join(dir, "molt.db");
  return { path, store: await openStore(`sqlite:${path}`, options) };
}

interface Holder {
  /** Resolves with the epoch ms at which the other process committed. */
  readonly released: Promise<number>;
  /** Release the lock now. */
  release(): void;
}

/** Start another process holding the file's write lock for `ms`; resolves once it holds it. */
async function holdLock(path: string, ms: number): Promise<Holder> {
  const child = spawnChild(tsCommand(fixture("hold-sqlite-lock.ts"), path, String(ms)), { stdin: "pipe", stderr: "pipe" });
  const out = lines(child.stdout);
  const first = await out.next();
  if (first.value !== "locked") throw new Error(`the lock holder did not start: ${await new Response(child.stderr).text()}`);
  const released = (async () => {
    for await (const line of out) {
      const m = /^released (\d+)$/.exec(line);
      if (m !== null) return Number(m[1]);
    }
    throw new Error(`the lock holder exited without releasing: ${await new Response(child.stderr).text()}`);
  })();
  return {
    released,
    release: () => {
      void child.stdin!.end();
    },
  };
}

/** The largest gap between ticks of a 5 ms interval while `work` runs. */
async function largestGap<T>(work: () => Promise<T>): Promise<{ gap: number; result: PromiseSettledResult<T> }> {
  let last = performance.now();
  let gap = 0;
  const tick = (): void => {
    const now = performance.now();
    gap = Math.max(gap, now - last);
    last = now;
  };
  const ticker = setInterval(tick, 5);
  const [result] = await Promise.allSettled([work()]);
  tick();
  clearInterval(ticker);
  return { gap, result };
}

const decision = (rolloutId: string) => ({
  rolloutId, at: 1, kind: "advanced", stateFrom: "a", stateTo: "b", shareFrom: 0, shareTo: 100, reason: "stage passed", inputs: {},
});

describe("SQLite under another process's write lock", () => {
  test("a single write waits without blocking the event loop, lands once the lock is released; a read waits only for this store's own writes", async () => {
    const { path, store } = await freshStore();
    const holder = await holdLock(path, HOLD_MS);
    let readAt = 0;
    let seen: string[] = [];
    const { gap, result } = await largestGap(async () => {
      // Issued before the write: another process's lock does not hold it up.
      const before = store.decisions.list("r1").then(() => (readAt = Date.now()));
      const write = store.decisions.record(decision("r1"));
      // Issued after it: it waits for it, and sees it.
      const after = store.decisions.list("r1").then((rows) => (seen = rows.map((d) => d.reason)));
      await Promise.all([before, write, after]);
      return Date.now();
    });
    const releasedAt = await holder.released;
    expect(gap).toBeLessThan(MAX_GAP_MS);
    expect(result.status).toBe("fulfilled");
    const wroteAt = (result as PromiseFulfilledResult<number>).value;
    expect(readAt).toBeLessThan(releasedAt);
    expect(wroteAt).toBeGreaterThanOrEqual(releasedAt);
    expect(wroteAt - releasedAt).toBeLessThan(1000);
    expect(seen).toEqual(["stage passed"]);
    await store.close();
  }, 30_000);

  test("a transaction takes the lock at its start: it waits without blocking the event loop, then commits whole", async () => {
    const { path, store } = await freshStore();
    const holder = await holdLock(path, HOLD_MS);
    const { gap, result } = await largestGap(async () => {
      await store.flags.set("pool_v2_share", 250, { by: "ops", reason: "under lock" });
      return Date.now();
    });
    const releasedAt = await holder.released;
    expect(gap).toBeLessThan(MAX_GAP_MS);
    expect(result.status).toBe("fulfilled");
    expect((result as PromiseFulfilledResult<number>).value).toBeGreaterThanOrEqual(releasedAt);
    expect((await store.flags.get("pool_v2_share"))?.value).toBe(250);
    expect((await store.flags.changes()).map((c) => [c.key, c.newValue, c.reason])).toEqual([["pool_v2_share", 250, "under lock"]]);
    await store.close();
  }, 30_000);

  test("writes of one store land in the order they were issued, even while they wait", async () => {
    const { path, store } = await freshStore();
    const holder = await holdLock(path, HOLD_MS);
    const writes = [1, 2, 3, 4].map((n) =>
      n % 2 === 0 ? store.flags.set("pool_v2_share", n, { reason: `write ${n}` }) : store.decisions.record({ ...decision("order"), reason: `write ${n}` })
    );
    await Promise.all(writes);
    await holder.released;
    expect((await store.flags.get("pool_v2_share"))?.value).toBe(4);
    expect((await store.flags.changes()).map((c) => c.reason)).toEqual(["write 2", "write 4"]);
    expect((await store.decisions.list("order")).map((d) => d.reason)).toEqual(["write 1", "write 3"]);
    await store.close();
  }, 30_000);

  test("opening a store waits for the lock without blocking the event loop", async () => {
    const { path, store: first } = await freshStore();
    await first.close();
    const holder = await holdLock(path, HOLD_MS);
    const { gap, result } = await largestGap(() => openStore(`sqlite:${path}`));
    await holder.released;
    expect(gap).toBeLessThan(MAX_GAP_MS);
    expect(result.status).toBe("fulfilled");
    const store = (result as PromiseFulfilledResult<Store>).value;
    expect(store.applied).toEqual([]);
    await store.close();
  }, 30_000);

  test("past the deadline a write and a transaction fail, saying they gave up and after how long, and write nothing", async () => {
    const busyTimeoutMs = 400;
    const { path, store } = await freshStore({ busyTimeoutMs });
    const holder = await holdLock(path, 60_000);
    const started = Date.now();
    const { gap, result } = await largestGap(() =>
      Promise.all([rejection(store.decisions.record(decision("late"))), rejection(store.flags.set("pool_v2_share", 7))])
    );
    const elapsed = Date.now() - started;
    holder.release();
    await holder.released;
    expect(gap).toBeLessThan(MAX_GAP_MS);
    expect(result.status).toBe("fulfilled");
    for (const e of (result as PromiseFulfilledResult<Awaited<ReturnType<typeof rejection>>[]>).value) {
      expect(e._tag).toBe("StoreError");
      expect(e.backend).toBe("sqlite");
      expect(e.failure).toBe("query");
      const waited = Number(/^database is locked by another process: gave up after (\d+) ms \(the store.s busyTimeoutMs is \d+\)$/.exec(String(e.reason))?.[1]);
      expect(waited).toBeGreaterThanOrEqual(busyTimeoutMs);
      expect(waited).toBeLessThanOrEqual(elapsed);
    }
    expect(await store.decisions.list("late")).toEqual([]);
    expect(await store.flags.get("pool_v2_share")).toBeUndefined();
    expect(await store.flags.changes()).toEqual([]);
    await store.close();
  }, 30_000);

  test("busyTimeoutMs must be a non-negative whole number of milliseconds", async () => {
    for (const bad of [-1, 1.5, "100"]) {
      const e = await rejection(openStore(":memory:", { busyTimeoutMs: bad as number }));
      expect(e._tag).toBe("ConfigError");
      expect(e.message).toStartWith("store: busyTimeoutMs must be a non-negative integer");
      expect(e.message).toEndWith(`received ${JSON.stringify(bad)}`);
    }
  });
});
