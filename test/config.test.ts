/**
 * Shared option rules: every duration has the bound a timer can honour,
 * and a ConfigError shows the value it received as that value (NaN, not null).
 */
import { describe, expect, test } from "bun:test";
import { attachStatsd, ConfigError, createFlags, createRolloutController, createRouter, EventBus, openStore, type Pool } from "../mod.ts";
import { resolvePoolOptions } from "../src/pool/options.ts";
import { resolveWorkerOptions } from "../src/worker/options.ts";
import { fixture, rejection } from "./helpers.ts";

const handler = fixture("echo_handler.py");
const TOO_LONG = 2 ** 31;
const MAX_DURATION_MS = TOO_LONG - 1;

/** The error `fn` throws or rejects with (fails the test if it does neither). */
async function failure(fn: () => unknown): Promise<Error & Record<string, unknown>> {
  try {
    await fn();
  } catch (e) {
    return e as Error & Record<string, unknown>;
  }
  throw new Error("expected a failure, but it succeeded");
}

describe("received values in messages", () => {
  const cases: [unknown, string][] = [
    [Number.NaN, "NaN"],
    [Infinity, "Infinity"],
    [-Infinity, "-Infinity"],
    [undefined, "undefined"],
    [12n, "12n"],
    [Symbol("tag"), "Symbol(tag)"],
    [function namedOne() {}, "function namedOne"],
    [() => {}, "a function"],
    [{ a: Number.NaN, b: [Infinity, undefined], c: "x" }, '{"a":NaN,"b":[Infinity,undefined],"c":"x"}'],
    [new Map([[1, 2]]), "Map(1)"],
    [new Set([1, 2]), "Set(2)"],
    [-0, "-0"],
    [null, "null"],
  ];
  for (const [value, shown] of cases) {
    test(`${shown}`, () => {
      const e = new ConfigError({ owner: "o", option: "x", received: value, allowed: "y" });
      expect(e.message).toBe(`o: x must be y, received ${shown}`);
    });
  }

  test("a cyclic value is shown, not thrown on; a huge one is cut short", () => {
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = cyclic;
    expect(new ConfigError({ owner: "o", option: "x", received: cyclic, allowed: "y" }).message).toBe('o: x must be y, received {"a":1,"self":[cycle]}');
    const huge = new ConfigError({ owner: "o", option: "x", received: Array.from({ length: 10_000 }, (_, i) => i), allowed: "y" }).message;
    expect(huge.length).toBeLessThan(300);
    expect(huge.endsWith("…")).toBe(true);
  });
});

describe("durations are bounded by what a timer can wait", () => {
  const worker = ["startTimeoutMs", "callTimeoutMs", "heartbeatMs", "heartbeatTimeoutMs", "drainTimeoutMs", "shutdownGraceMs", "killGraceMs"];
  for (const name of worker) {
    test(`worker ${name}`, () => {
      expect(() => resolveWorkerOptions({ handler, id: "w", [name]: TOO_LONG })).toThrow(
        `worker "w": ${name} must be a ${name === "heartbeatMs" || name.endsWith("GraceMs") || name === "drainTimeoutMs" ? "non-negative" : "positive"} integer of milliseconds, at most 2147483647`,
      );
      expect(resolveWorkerOptions({ handler, id: "w", [name]: MAX_DURATION_MS })[name as "startTimeoutMs"]).toBe(MAX_DURATION_MS);
    });
  }

  const pool: [string, Record<string, unknown>][] = [
    ["queueTimeoutMs", { queueTimeoutMs: TOO_LONG }],
    ["overflowAfterMs", { overflowAfterMs: TOO_LONG }],
    ["overflowIdleMs", { overflowIdleMs: TOO_LONG }],
    ["sampleEveryMs", { sampleEveryMs: TOO_LONG }],
    ["restartInitialMs", { restartInitialMs: TOO_LONG }],
    ["restartMaxMs", { restartMaxMs: TOO_LONG }],
    ["windowMs", { windowMs: TOO_LONG }],
    ["breaker.samplingMs", { breaker: { samplingMs: TOO_LONG } }],
    ["breaker.halfOpenAfterMs", { breaker: { halfOpenAfterMs: TOO_LONG } }],
    ["retry.initialDelayMs", { retry: { initialDelayMs: TOO_LONG } }],
    ["retry.maxDelayMs", { retry: { maxDelayMs: TOO_LONG } }],
    ["optimizer.intervalMs", { optimizer: { intervalMs: TOO_LONG } }],
    ["optimizer.cooldownMs", { optimizer: { cooldownMs: TOO_LONG } }],
  ];
  for (const [name, extra] of pool) {
    test(`pool ${name}`, () => {
      const e = (() => {
        try {
          resolvePoolOptions({ name: "v2", handler, ...extra } as never);
        } catch (e) {
          return e as ConfigError;
        }
        throw new Error("accepted");
      })();
      expect([e._tag, e.option, e.received]).toEqual(["ConfigError", name, TOO_LONG]);
      expect(e.allowed).toContain("integer of milliseconds, at most 2147483647");
    });
  }

  test("a pool checks its workers' options too, without starting anything", () => {
    expect(() => resolvePoolOptions({ name: "v2", handler, startTimeoutMs: TOO_LONG })).toThrow(
      'worker "v2-0": startTimeoutMs must be a positive integer of milliseconds, at most 2147483647',
    );
  });

  test("maxFrameBytes fits the 32-bit frame header", () => {
    expect(() => resolveWorkerOptions({ handler, id: "w", maxFrameBytes: 2 ** 33 })).toThrow(
      'worker "w": maxFrameBytes must be an integer from 64 to 536870912 (512 MiB)',
    );
    expect(resolveWorkerOptions({ handler, id: "w", maxFrameBytes: 2 ** 29 }).maxFrameBytes).toBe(2 ** 29);
  });

  test("flags, store, StatsD, router and rollout durations", async () => {
    const store = await openStore(":memory:");
    const flags = await createFlags({ store, env: {} });
    // Option checks come before any use of a pool: stand-ins suffice.
    const stand = (name: string): Pool =>
      ({ name, execute: () => Promise.resolve(null), health: () => Promise.resolve(null), state: "serving", events: new EventBus() }) as unknown as Pool;
    const [v1, v2] = [stand("v1"), stand("v2")];
    const rollout = (extra: Record<string, unknown>) => () => createRolloutController({ v1, v2, flags, store, rolloutId: "r", ...extra });
    const cases: [string, () => unknown][] = [
      ["pollMs", () => createFlags({ store, env: {}, pollMs: TOO_LONG })],
      ["connectTimeoutMs", () => openStore(":memory:", { connectTimeoutMs: TOO_LONG })],
      ["flushIntervalMs", () => attachStatsd(new EventBus(), { flushIntervalMs: TOO_LONG })],
      ["shadow.timeoutMs", () => createRouter({ v1, v2, flags, store, shadow: { sampleRate: 1, commands: ["x"], timeoutMs: TOO_LONG } })],
      ["plan.shadowMs", rollout({ plan: { shadowMs: TOO_LONG } })],
      ["plan.cooldownMs", rollout({ plan: { cooldownMs: TOO_LONG } })],
      ["plan.stages[0].minDurationMs", rollout({ plan: { stages: [{ weightBp: 500, minDurationMs: TOO_LONG, minSamples: 1 }] } })],
      ["rollback.drainTimeoutMs", rollout({ rollback: { drainTimeoutMs: TOO_LONG } })],
      ["rollback.webhookTimeoutMs", rollout({ rollback: { webhookTimeoutMs: TOO_LONG } })],
    ];
    for (const [option, fn] of cases) {
      const e = await failure(fn);
      expect([e._tag, e.option, e.received]).toEqual(["ConfigError", option, TOO_LONG]);
      expect(e.allowed as string).toContain("at most 2147483647");
    }
    expect((await store.journal.actors()).length).toBe(0);
    await flags.close();
    await store.close();
  });

  test("a rollout's run() interval is bounded too", async () => {
    const { rig } = await import("./rollout/helpers.ts");
    const r = await rig();
    const e = await failure(() => r.rollout.run(TOO_LONG));
    expect([e._tag, e.option]).toEqual(["ConfigError", "run.everyMs"]);
    expect(e.message).toContain("at most 2147483647");
    await r.stop();
  }, 20_000);
});

describe("rules", () => {
  test("a ConfigError names the option, the value and what is allowed", async () => {
    const e = await rejection(createFlags({ store: await openStore(":memory:"), env: {}, pollMs: -1 }));
    expect(e.message).toBe("flags: pollMs must be a positive integer of milliseconds, at most 2147483647 (the longest a timer can wait, about 24.8 days), received -1");
  });
});

describe("args checked before a call", () => {
  test("a toJSON is honoured on any object; a getter or toJSON that throws is a ConfigError, not a throw", async () => {
    const { checkCall } = await import("../src/worker/call-check.ts");
    expect(checkCall("pool", "v2", "echo", { when: { toJSON: () => "2026-12-01" }, at: new Date(0) }, {})).toBeNull();
    expect((checkCall("pool", "v2", "echo", { bad: { toJSON: () => NaN } }, {}) as ConfigError).message).toBe("pool \"v2\" execute: args.bad must be a finite number, received NaN");
    const trap = { get x(): number {
      throw new RangeError("no x here");
    } };
    // Returned, not thrown: execute() and call() reject with it.
    const error = checkCall("pool", "v2", "echo", trap, {});
    expect([(error as ConfigError)._tag, (error as ConfigError).message]).toEqual(["ConfigError", expect.stringContaining("args must be readable as JSON (reading it threw RangeError: no x here)")]);
    // The message itself cannot throw, whatever was received.
    const hostile = new Proxy({}, { ownKeys: () => { throw new Error("no keys"); } });
    expect(new ConfigError({ owner: "o", option: "x", received: hostile, allowed: "y" }).message).toContain("received");
  });
});
