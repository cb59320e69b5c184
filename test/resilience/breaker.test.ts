import { afterEach, describe, expect, setSystemTime, test } from "bun:test";
import { PythonError, WorkerExitedError } from "../../mod.ts";
import { PoolBreaker } from "../../src/resilience/breaker.ts";
import { rejection } from "../helpers.ts";

const crash = () =>
  Promise.reject(new WorkerExitedError({ workerId: "w", pid: 1, requestId: 1, command: "x", exitCode: null, signal: "SIGKILL", stderrTail: [], written: true }));
const pythonError = () =>
  Promise.reject(new PythonError({ workerId: "w", pid: 1, requestId: 1, command: "x", type: "ValueError", detail: "bad", traceback: undefined }));
const ok = () => Promise.resolve("ok");

function breaker(breakOn: "infrastructure" | "any-error", initialState: unknown = undefined) {
  const changes: string[] = [];
  const b = new PoolBreaker("v2", { consecutiveFailures: 3, threshold: 0.5, samplingMs: 10_000, minimumRps: 5, halfOpenAfterMs: 1000, breakOn, initialState }, (from, to) => changes.push(`${from}>${to}`));
  return { b, changes };
}

afterEach(() => setSystemTime());

describe("PoolBreaker (simulated clock)", () => {
  test("opens after 3 infrastructure failures, refuses at once, probes after halfOpenAfter, closes on success", async () => {
    setSystemTime(new Date("2026-01-01T00:00:00Z"));
    const { b, changes } = breaker("infrastructure");
    for (let i = 0; i < 3; i++) expect((await rejection(b.execute("x", crash)))._tag).toBe("WorkerExitedError");
    expect(b.state).toBe("open");
    let ran = false;
    const refused = await rejection(b.execute("x", () => (ran = true, ok())));
    expect(refused._tag).toBe("BreakerOpenError");
    expect(refused.state).toBe("open");
    expect(ran).toBe(false);
    setSystemTime(new Date("2026-01-01T00:00:00.999Z"));
    expect((await rejection(b.execute("x", ok)))._tag).toBe("BreakerOpenError");
    setSystemTime(new Date("2026-01-01T00:00:01Z"));
    expect(await b.execute("x", ok)).toBe("ok");
    expect(b.state).toBe("closed");
    expect(changes).toEqual(["closed>open", "open>halfOpen", "halfOpen>closed"]);
  });

  test("infrastructure mode: Python errors neither count as failures nor reset the count", async () => {
    const { b } = breaker("infrastructure");
    await rejection(b.execute("x", crash));
    await rejection(b.execute("x", crash));
    for (let i = 0; i < 5; i++) await rejection(b.execute("x", pythonError));
    expect(b.state).toBe("closed");
    await rejection(b.execute("x", crash));
    expect(b.state).toBe("open");
  });

  test("any-error mode: Python errors open the breaker", async () => {
    const { b } = breaker("any-error");
    for (let i = 0; i < 3; i++) await rejection(b.execute("x", pythonError));
    expect(b.state).toBe("open");
  });

  test("a half-open probe that gets a Python error re-opens the breaker instead of closing it", async () => {
    setSystemTime(new Date("2026-01-01T00:00:00Z"));
    const { b, changes } = breaker("infrastructure");
    for (let i = 0; i < 3; i++) await rejection(b.execute("x", crash));
    setSystemTime(new Date("2026-01-01T00:00:02Z"));
    expect((await rejection(b.execute("x", pythonError)))._tag).toBe("PythonError");
    expect(b.state).toBe("open");
    expect(changes).toEqual(["closed>open", "open>halfOpen", "halfOpen>open"]);
  });

  test("isolate holds it open with BreakerOpenError state isolated; dispose closes it", async () => {
    const { b } = breaker("infrastructure");
    const handle = b.isolate();
    expect(b.state).toBe("isolated");
    expect((await rejection(b.execute("x", ok))).state).toBe("isolated");
    handle.dispose();
    expect(b.state).toBe("closed");
  });

  test("a breaker restarted from toJSON() starts open, and its machine says so", async () => {
    setSystemTime(new Date("2026-01-01T00:00:00Z"));
    const { b } = breaker("infrastructure");
    for (let i = 0; i < 3; i++) await rejection(b.execute("x", crash));
    const saved = JSON.parse(JSON.stringify(b.toJSON()));
    const { b: again } = breaker("infrastructure", saved);
    expect(again.state).toBe("open");
    expect((await rejection(again.execute("x", ok)))._tag).toBe("BreakerOpenError");
  });
});

test("by default the breaker judges the failure rate: a burst of failures below the rate does not open it", async () => {
  const b = new PoolBreaker("v2", { consecutiveFailures: null, threshold: 0.5, samplingMs: 1000, minimumRps: 5, halfOpenAfterMs: 1000, breakOn: "infrastructure", initialState: undefined }, () => {});
  for (let i = 0; i < 60; i++) await b.execute("x", ok);
  for (let i = 0; i < 20; i++) await rejection(b.execute("x", crash));
  expect(b.state).toBe("closed");
  for (let i = 0; i < 60; i++) await rejection(b.execute("x", crash));
  expect(b.state).toBe("open");
});
