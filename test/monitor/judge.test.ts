/**
 * The monitor's judgement on simulated windows: every rule fires on the
 * fault it is for, none fires on healthy arms over many windows, too little
 * traffic holds, and a critical error rate wins over everything.
 */
import { describe, expect, test } from "bun:test";
import { type ArmWindow, DEFAULT_THRESHOLDS, judge, resolveThresholds } from "../../mod.ts";
import { growthInterval, twoProportionTest } from "../../src/monitor/statistics.ts";
import { lcg } from "../helpers.ts";


/** A window of `calls` with error probability `errorRate` and log-normal latencies around `medianMs`. */
function window(random: () => number, calls: number, errorRate: number, medianMs: number, extra: Partial<ArmWindow> = {}): ArmWindow {
  let errors = 0;
  const latencies: number[] = [];
  for (let i = 0; i < calls; i++) {
    if (random() < errorRate) errors++;
    const normal = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
    latencies.push(medianMs * Math.exp(0.5 * normal));
  }
  const sorted = [...latencies].sort((a, b) => a - b);
  const q = (p: number): number => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
  return {
    calls, errors, windowS: 60, p50Ms: q(0.5), p90Ms: q(0.9), p99Ms: q(0.99),
    latencySample: latencies.slice(0, 512), workers: 4, crashes: 0, saturated: 0, queued: 0, queueWaitP99Ms: 0, cpuPercent: 30, memoryPercent: 40,
    rss: [0, 1, 2, 3].map((i) => ({ at: i * 60_000, bytes: 100e6 })), ...extra,
  };
}

const rule = (j: ReturnType<typeof judge>, name: string) => j.rules.find((r) => r.rule === name)!;

describe("judge", () => {
  test("healthy arms from the same distribution never fail, over 500 windows", () => {
    const random = lcg(42);
    const verdicts = { pass: 0, fail: 0, inconclusive: 0, insufficient_data: 0 };
    const failing: string[] = [];
    for (let i = 0; i < 500; i++) {
      const j = judge({ v1: window(random, 2000, 0.01, 20), v2: window(random, 400, 0.01, 20), shadow: { compared: 200, mismatched: Math.floor(random() * 3), noiseFloor: 0.005 } });
      verdicts[j.verdict]++;
      if (j.verdict !== "pass") failing.push(j.reasons.join("; "));
    }
    expect([verdicts.fail, failing.filter((r) => r.includes(" fail:"))]).toEqual([0, []]);
    // Inconclusive (a ratio over its limit without significance) must stay rare on healthy traffic;
    // the controller pauses only when it persists.
    expect(verdicts.inconclusive).toBeLessThanOrEqual(10);
    console.log(`healthy windows: ${JSON.stringify(verdicts)}`);
  });

  test("too little traffic holds (insufficient data), never a failure", () => {
    const random = lcg(1);
    const j = judge({ v1: window(random, 1000, 0.01, 20), v2: window(random, 50, 0.06, 500) });
    expect([j.verdict, j.critical]).toEqual(["insufficient_data", false]);
    expect(rule(j, "minimum_calls")).toMatchObject({ status: "insufficient", value: 50, threshold: 100 });
    expect(j.reasons).toEqual(["minimum_calls insufficient: 50 vs 100"]);
  });

  test("reasons are written for people: a ratio to a V1 with no errors is unbounded, not ∞; four significant digits", () => {
    const random = lcg(3);
    const v1 = window(random, 2000, 0, 20);
    const j = judge({ v1: { ...v1, errors: 0 }, v2: { ...window(random, 400, 0, 20), errors: 17 } });
    const reason = j.reasons.find((r) => r.startsWith("error_rate_vs_v1"))!;
    expect(reason).toBe(`error_rate_vs_v1 fail: unbounded (nothing on V1 to compare with) vs ${DEFAULT_THRESHOLDS.errorRatio}`);
    expect(j.reasons.join(" ")).not.toMatch(/∞|\d\.\d{5,}/);
  });

  test("a V2 error rate above 10% is critical even with little traffic", () => {
    const v1 = window(lcg(2), 1000, 0.01, 20);
    const j = judge({ v1, v2: { ...v1, calls: 30, errors: 4 } });
    expect([j.verdict, j.critical]).toEqual(["fail", true]);
    expect(judge({ v1, v2: { ...v1, calls: 10, errors: 4 } }).verdict).toBe("insufficient_data");
  });

  test("each absolute threshold fails on its own fault", () => {
    const random = lcg(3);
    const v1 = window(random, 1000, 0.01, 20);
    const base = window(random, 1000, 0.01, 20);
    const cases: [Partial<ArmWindow>, string][] = [
      [{ errors: 70 }, "v2_error_rate"],
      [{ p99Ms: 250 }, "v2_p99_ms"],
      [{ cpuPercent: 95 }, "v2_cpu_percent"],
      [{ memoryPercent: 93 }, "v2_memory_percent"],
      [{ crashes: 1, workers: 4 }, "worker_failure_rate"],
      [{ rss: [0, 1, 2, 3, 4].map((i) => ({ at: i * 600_000, bytes: 100e6 * (1 + 0.05 * i) })) }, "memory_growth_per_hour"],
      [{ saturated: 30 }, "v2_saturation_rate"],
      [{ queued: 200, queueWaitP99Ms: 150 }, "v2_queue_wait_p99_ms"],
    ];
    for (const [fault, name] of cases) {
      const j = judge({ v1, v2: { ...base, ...fault } });
      expect([name, j.verdict, rule(j, name).status]).toEqual([name, "fail", "fail"]);
    }
    expect(judge({ v1, v2: base }).verdict).toBe("pass");
    // Under 30 s of samples, growth is not judged at all.
    const brief = judge({ v1, v2: { ...base, rss: [0, 1, 2, 3, 4].map((i) => ({ at: i * 5_000, bytes: 100e6 * (1 + 0.05 * i) })) } });
    expect(rule(brief, "memory_growth_per_hour")).toMatchObject({ status: "insufficient", stats: { samples: 5, spanMs: 20_000 } });
  });

  test("relative rules fail when the difference is significant, and are inconclusive when it is not", () => {
    const random = lcg(4);
    const v1 = window(random, 5000, 0.005, 20);
    const significant = judge({ v1, v2: { ...window(random, 2000, 0.005, 20), errors: 40 } });
    expect(rule(significant, "error_rate_vs_v1")).toMatchObject({ status: "fail" });
    expect(rule(significant, "error_rate_vs_v1").stats!.pValue).toBeLessThan(0.001);
    const small = judge({ v1, v2: { ...window(random, 200, 0.005, 20), errors: 5 } });
    expect(rule(small, "error_rate_vs_v1").status).toBe("inconclusive");
    expect(small.verdict).toBe("inconclusive");
    // Fewer V2 errors than minErrorsToCompare: too few to compare at all.
    expect(rule(judge({ v1, v2: { ...window(random, 200, 0, 20), errors: 4 } }), "error_rate_vs_v1").status).toBe("pass");

    const slow = window(random, 1000, 0.005, 60);
    const latency = judge({ v1, v2: { ...slow, p99Ms: Math.min(slow.p99Ms, 190) } });
    expect(rule(latency, "p99_vs_v1")).toMatchObject({ status: "fail" });
    expect(latency.verdict).toBe("fail");
  });

  test("a shadow mismatch rate significantly above the A/A floor fails", () => {
    const random = lcg(5);
    const v1 = window(random, 1000, 0.01, 20);
    const v2 = window(random, 1000, 0.01, 20);
    expect(rule(judge({ v1, v2, shadow: { compared: 500, mismatched: 40, noiseFloor: 0.01 } }), "shadow_mismatch_rate").status).toBe("fail");
    expect(rule(judge({ v1, v2, shadow: { compared: 500, mismatched: 6, noiseFloor: 0.01 } }), "shadow_mismatch_rate").status).toBe("pass");
    expect(rule(judge({ v1, v2 }), "shadow_mismatch_rate").status).toBe("insufficient");
  });

  test("memory growth: a leak fails within 30 s of samples, a steady arm passes, a noisy short series proves neither", () => {
    const v1 = window(lcg(6), 1000, 0.01, 20);
    const v2 = window(lcg(7), 1000, 0.01, 20);
    const random = lcg(8);
    // 3 MB a second on 60 MB, sampled every 5 s with 200 KB of noise: fails at 30 s.
    const leak = Array.from({ length: 7 }, (_, i) => ({ at: i * 5_000, bytes: 60e6 + 3e6 * 5 * i + 2e5 * (random() - 0.5) }));
    const leaking = rule(judge({ v1, v2: { ...v2, rss: leak } }), "memory_growth_per_hour");
    expect(leaking.status).toBe("fail");
    expect(leaking.stats!.low).toBeGreaterThan(0.1);
    // Steady, with the same noise, over 10 minutes: the upper bound is under 10%/h.
    const steady = Array.from({ length: 60 }, (_, i) => ({ at: i * 10_000, bytes: 60e6 + 2e5 * (random() - 0.5) }));
    const flat = rule(judge({ v1, v2: { ...v2, rss: steady } }), "memory_growth_per_hour");
    expect(flat.status).toBe("pass");
    expect(flat.stats!.high).toBeLessThan(0.1);
    // Warming up: 30 MB over the first half of 4 minutes, then level. The whole series' lower bound is over
    // the limit, but the later half does not grow: not a leak, not yet a pass.
    const warm = Array.from({ length: 25 }, (_, i) => ({ at: i * 10_000, bytes: 60e6 + 30e6 * Math.min(1, i / 12) + 2e5 * (random() - 0.5) }));
    const warming = rule(judge({ v1, v2: { ...v2, rss: warm } }), "memory_growth_per_hour");
    expect([warming.status, warming.stats!.low! > 0.1, warming.stats!.laterLow! < 0.1]).toEqual(["insufficient", true, true]);
    // Steady but for one step of 2 MB, over 40 s: too few and too scattered to bound either way.
    const step = [0, 1, 2, 3, 4].map((i) => ({ at: i * 10_000, bytes: 60e6 + (i >= 2 ? 2e6 : 0) }));
    expect(rule(judge({ v1, v2: { ...v2, rss: step } }), "memory_growth_per_hour").status).toBe("insufficient");
  });

  test("throughput: rates per worker are compared only when both arms ran at capacity, where they measure capacity", () => {
    const random = lcg(9);
    const v1 = window(random, 6000, 0.001, 5, { workers: 2 });
    // A fraction of V1's calls (a 5% share) is not a fault while V2 serves all it is offered, even with one refusal.
    const offered = judge({ v1, v2: window(random, 300, 0.001, 5, { workers: 2, saturated: 1 }) });
    expect(rule(offered, "throughput_vs_v1")).toMatchObject({ status: "pass", stats: { v2Saturated: 1 } });
    // A burst that queued a third of V2's calls for a moment is not capacity either.
    expect(rule(judge({ v1, v2: window(random, 3000, 0.001, 5, { workers: 2, queued: 1000 }) }), "throughput_vs_v1").status).toBe("pass");
    // Both at capacity (most calls waited), V2 at half V1's rate per worker: fails.
    const busyV1 = { ...v1, queued: 4000 };
    const slower = judge({ v1: busyV1, v2: window(random, 3000, 0.001, 5, { workers: 2, queued: 2000 }) });
    expect(rule(slower, "throughput_vs_v1")).toMatchObject({ status: "fail", value: expect.closeTo(0.5, 1) });
    expect(rule(slower, "throughput_vs_v1").stats!.pValue).toBeLessThan(0.001);
    // V2 at capacity beside a V1 that is not: V1's rate is what it was offered, nothing to compare with.
    expect(rule(judge({ v1, v2: window(random, 3000, 0.001, 5, { workers: 2, queued: 2000 }) }), "throughput_vs_v1").status).toBe("insufficient");
    // Both at capacity on a few calls, V2 at 0.75 of V1's rate: under the ratio, but not significantly.
    const few = judge({ v1: window(random, 200, 0, 5, { workers: 2, queued: 150 }), v2: window(random, 150, 0, 5, { workers: 2, queued: 100 }) });
    expect(rule(few, "throughput_vs_v1").status).toBe("inconclusive");
    // At capacity at V1's rate per worker, with twice the workers: passes.
    expect(rule(judge({ v1: busyV1, v2: window(random, 12_000, 0.001, 5, { workers: 4, queued: 9000 }) }), "throughput_vs_v1").status).toBe("pass");
    // V1 completed nothing: nothing to compare with.
    expect(rule(judge({ v1: { ...v1, errors: v1.calls }, v2: window(random, 300, 0, 5) }), "throughput_vs_v1").status).toBe("insufficient");
  });

  test("statistics: a two-proportion test and a growth rate with known answers", () => {
    const t = twoProportionTest(10, 1000, 30, 1000);
    // Pooled rate 0.02, standard error sqrt(0.02 × 0.98 × 2/1000) = 0.00626, difference 0.02.
    expect(t.z).toBeCloseTo(3.194, 3);
    // Fisher's exact one-sided p, checked against exact integer arithmetic in Python (math.comb).
    expect(t.pValue).toBeCloseTo(0.0010041667809150049, 12);
    expect(twoProportionTest(14, 2000, 10, 400).pValue).toBeCloseTo(0.003177754770121023, 12);
    expect(twoProportionTest(0, 100, 0, 100)).toEqual({ z: 0, pValue: 1 });
    // 20 bytes an hour over a mean of 110 bytes, on an exact line: no interval around it.
    const exact = growthInterval([{ at: 0, bytes: 100 }, { at: 1_800_000, bytes: 110 }, { at: 3_600_000, bytes: 120 }], 0.001)!;
    expect([exact.perHour, exact.low, exact.high].map((x) => x.toFixed(10))).toEqual(Array(3).fill((20 / 110).toFixed(10)));
    // Residuals 1, -2, 1 about the line: slope 10 ± t(0.999, 1) × sqrt(6 / 1 / 2) / 110 per hour (mean 110).
    const noisy = growthInterval([{ at: 0, bytes: 101 }, { at: 3_600_000, bytes: 108 }, { at: 7_200_000, bytes: 121 }], 0.001)!;
    expect(noisy.perHour).toBeCloseTo(10 / 110, 10);
    expect(noisy.high - noisy.perHour).toBeCloseTo((318.30883898555 * Math.sqrt(3)) / 110, 6);
    expect(growthInterval([{ at: 0, bytes: 100 }, { at: 1, bytes: 100 }], 0.001)).toBeNull();
  });

  test("thresholds are validated", () => {
    expect(() => resolveThresholds({ maxErrorRate: 5 })).toThrow("monitor: thresholds.maxErrorRate must be a number between 0 and 1 (exclusive), received 5");
    expect(() => resolveThresholds({ minCalls: 0 })).toThrow("monitor: thresholds.minCalls must be a positive integer, received 0");
    expect(() => resolveThresholds({ maxP99: 1 } as never)).toThrow("monitor: maxP99 must be one of the known thresholds");
    expect(resolveThresholds({ maxP99Ms: 500 }).maxP99Ms).toBe(500);
  });
});
