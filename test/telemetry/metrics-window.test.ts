import { describe, expect, test } from "bun:test";
import { MetricsWindow } from "../../mod.ts";

describe("MetricsWindow (simulated clock)", () => {
  test("counts outcomes, categories and error tags, and gives quantiles within 1%", () => {
    let now = 0;
    const w = new MetricsWindow({ windowMs: 60_000, slices: 6, now: () => now });
    for (let i = 1; i <= 1000; i++) w.record("ok", null, i / 10);
    w.record("python_error", "python", 5, false, "PythonError");
    w.record("failed", "timeout", 200, false, "WorkerTimeoutError");
    w.record("rejected", "resource", 0, true, "PoolSaturatedError");
    now = 10_000;
    const t = w.totals();
    expect(t.tags).toEqual({ PythonError: 1, WorkerTimeoutError: 1, PoolSaturatedError: 1 });
    expect(t.calls).toBe(1003);
    expect(t.outcomes).toEqual({ ok: 1000, python_error: 1, failed: 1, rejected: 1 });
    expect(t.categories).toEqual({ python: 1, timeout: 1, resource: 1 });
    expect(Math.abs(t.latencyMs.p50 - 50) / 50).toBeLessThan(0.01);
    expect(Math.abs(t.latencyMs.p99 - 99) / 99).toBeLessThan(0.02);
    expect(Math.abs(t.latencyMs.max - 200) / 200).toBeLessThan(0.01);
    expect(t.throughputPerS).toBeCloseTo(1002 / 10, 5);
  });

  test("old slices leave the window, one slice at a time", () => {
    let now = 0;
    const w = new MetricsWindow({ windowMs: 60_000, slices: 6, now: () => now });
    w.record("ok", null, 1);
    w.crashed();
    now = 30_000;
    w.record("failed", "connection", 1);
    w.restarted();
    now = 59_999;
    expect(w.totals().calls).toBe(2);
    now = 60_000;
    const t = w.totals();
    expect(t.calls).toBe(1);
    expect(t.outcomes.failed).toBe(1);
    expect(t.crashes).toBe(0);
    expect(t.restarts).toBe(1);
    now = 200_000;
    expect(w.totals().calls).toBe(0);
    expect(w.totals().latencyMs.p99).toBe(0);
  });

  test("keeps a uniform sample of at most 128 latencies per slice, and drops it with its slice", () => {
    let now = 0;
    let x = 7;
    const random = (): number => (x = (x * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const w = new MetricsWindow({ windowMs: 2000, slices: 2, now: () => now, random });
    for (let i = 0; i < 10_000; i++) w.record("ok", null, i % 100);
    w.record("rejected", "resource", 5000);
    const sample = w.totals().latencySample;
    expect(sample.length).toBe(128);
    expect(sample.every((ms) => ms < 100)).toBe(true);
    // Uniform over 0..99: the sample's mean is near 49.5.
    expect(Math.abs(sample.reduce((a, b) => a + b, 0) / sample.length - 49.5)).toBeLessThan(8);
    now = 1000;
    w.record("ok", null, 1);
    expect(w.totals().latencySample.length).toBe(129);
    now = 2000;
    expect(w.totals().latencySample).toEqual([1]);
  });
});

test("an interval holds the whole slices that started in it: counts, tags, and a histogram that decodes to the same calls", () => {
  let now = 0;
  const w = new MetricsWindow({ windowMs: 60_000, slices: 60, now: () => now });
  for (let i = 0; i < 100; i++) w.record("ok", null, 10);
  now = 1000;
  w.record("failed", "timeout", 50, false, "WorkerTimeoutError");
  now = 1500;
  // The second slice has not ended: only the first is whole.
  expect(w.interval(0, 2000).calls).toBe(100);
  now = 2000;
  const i = w.interval(0, 2000);
  expect([i.calls, i.outcomes.failed, i.tags]).toEqual([101, 1, { WorkerTimeoutError: 1 }]);
  expect(i.latencyHistogram.length).toBeGreaterThan(0);
  expect(w.interval(2000, 3000).calls).toBe(0);
});
