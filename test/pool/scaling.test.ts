import { describe, expect, test } from "bun:test";
import { decideScale, type ScaleInput, type ScaleLimits } from "../../mod.ts";

const limits: ScaleLimits = {
  optimizer: true,
  minSize: 1,
  maxSize: 4,
  growAbove: 0.9,
  shrinkBelow: 0.3,
  cooldownMs: 30_000,
  maxOverflow: 2,
  overflowAfterMs: 1000,
};
const calm: ScaleInput = { now: 100_000, utilisation: 0.5, queueDepth: 0, queuedSince: null, size: 2, overflow: 0, idleOverflow: 0, lastChangeAt: null };

describe("decideScale (the plan's rules, simulated clock)", () => {
  test("holds between the thresholds", () => {
    expect(decideScale(calm, limits)).toEqual({ action: "hold" });
  });

  test("grows above 0.9 only while calls queue, and never past maxSize", () => {
    expect(decideScale({ ...calm, utilisation: 0.95, queueDepth: 3, queuedSince: 99_900 }, limits)).toEqual({ action: "grow", to: 3 });
    expect(decideScale({ ...calm, utilisation: 0.95, queueDepth: 0 }, limits)).toEqual({ action: "hold" });
    expect(decideScale({ ...calm, utilisation: 0.95, queueDepth: 3, queuedSince: 99_900, size: 4 }, limits)).toEqual({ action: "hold" });
  });

  test("shrinks below 0.3 toward minSize, not below it", () => {
    expect(decideScale({ ...calm, utilisation: 0.1 }, limits)).toEqual({ action: "shrink", to: 1 });
    expect(decideScale({ ...calm, utilisation: 0.1, size: 1 }, limits)).toEqual({ action: "hold" });
  });

  test("waits out the cool-down after a change", () => {
    const busy = { ...calm, utilisation: 0.95, queueDepth: 3, queuedSince: 99_900 };
    expect(decideScale({ ...busy, lastChangeAt: 100_000 - 29_999 }, limits)).toEqual({ action: "hold" });
    expect(decideScale({ ...busy, lastChangeAt: 100_000 - 30_000 }, limits)).toEqual({ action: "grow", to: 3 });
  });

  test("the optimizer off: no growth or shrink", () => {
    const off = { ...limits, optimizer: false };
    expect(decideScale({ ...calm, utilisation: 0.1 }, off)).toEqual({ action: "hold" });
    expect(decideScale({ ...calm, utilisation: 0.99, queueDepth: 9, queuedSince: 99_999 }, off)).toEqual({ action: "hold" });
  });

  test("overflow after the queue stayed non-empty for overflowAfterMs, up to maxOverflow", () => {
    const queued = { ...calm, queueDepth: 2, queuedSince: 99_000 };
    expect(decideScale({ ...queued, queuedSince: 99_001 }, limits)).toEqual({ action: "hold" });
    expect(decideScale(queued, limits)).toEqual({ action: "overflow" });
    expect(decideScale({ ...queued, overflow: 2 }, limits)).toEqual({ action: "hold" });
  });

  test("an idle overflow worker is retired once the queue is empty", () => {
    expect(decideScale({ ...calm, overflow: 1, idleOverflow: 1 }, limits)).toEqual({ action: "retireOverflow" });
    expect(decideScale({ ...calm, overflow: 1, idleOverflow: 1, queueDepth: 1, queuedSince: 99_999 }, limits)).toEqual({ action: "hold" });
  });
});
