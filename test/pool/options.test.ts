import { describe, expect, test } from "bun:test";
import { createPool } from "../../mod.ts";
import { fixture, pidAlive, rejection } from "../helpers.ts";

const handler = fixture("echo_handler.py");

describe("createPool options", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ handler }, "pool: name must be a non-empty string, received undefined"],
    [{ name: "v2" }, 'pool "v2": handler must be a .py file path or a module name, received undefined'],
    [{ name: "v2", handler, size: -1 }, 'pool "v2": size must be a positive integer, received -1'],
    [{ name: "v2", handler, strategy: "fast" }, 'pool "v2": strategy must be one of "basic", "enhanced", received "fast"'],
    [{ name: "v2", handler, size: 2, minReady: 3 }, 'pool "v2": minReady must be at most size (2), received 3'],
    [{ name: "v1", handler, strategy: "basic", capacity: 4 }, 'pool "v1": capacity must be left out with strategy "basic" (the V1 baseline has none), received 4'],
    [{ name: "v1", handler, strategy: "basic", breaker: {} }, 'pool "v1": breaker must be left out with strategy "basic" (the V1 baseline has none), received {}'],
    [{ name: "v1", handler, strategy: "basic", store: {} }, 'pool "v1": store must be left out with strategy "basic" (the V1 baseline has none), received {}'],
    [{ name: "v2", handler, store: "sqlite:x.db" }, 'pool "v2": store must be a Store from openStore(), received "sqlite:x.db"'],
    [{ name: "v2", handler, retry: { attempts: -1 } }, 'pool "v2": retry.attempts must be a non-negative integer, received -1'],
    [{ name: "v2", handler, breaker: { breakOn: "all" } }, 'pool "v2": breaker.breakOn must be one of "infrastructure", "any-error", received "all"'],
    [{ name: "v2", handler, optimizer: { growAbove: 1.5 } }, 'pool "v2": optimizer.growAbove must be a number between 0 and 1 (exclusive), received 1.5'],
    [{ name: "v2", handler, threads: 0 }, 'worker "v2-0": threads must be a positive integer, received 0'],
    [{ name: "v2", handler, sise: 2 }, 'pool "v2": sise must be one of the known options'],
    [{ name: "v2", handler, startTimeoutMs: 2 ** 31 }, 'worker "v2-0": startTimeoutMs must be a positive integer of milliseconds, at most 2147483647'],
    [{ name: "v2", handler, drainTimeoutMs: 2 ** 31 }, 'worker "v2-0": drainTimeoutMs must be a non-negative integer of milliseconds, at most 2147483647'],
    [{ name: "v2", handler, maxFrameBytes: 2 ** 33 }, 'worker "v2-0": maxFrameBytes must be an integer from 64 to 536870912 (512 MiB), received 8589934592'],
    [{ name: "v2", handler, queueTimeoutMs: 2 ** 31 }, 'pool "v2": queueTimeoutMs must be a positive integer of milliseconds, at most 2147483647'],
    [{ name: "v2", handler, breaker: { halfOpenAfterMs: 2 ** 31 } }, 'pool "v2": breaker.halfOpenAfterMs must be a positive integer of milliseconds, at most 2147483647'],
  ];
  for (const [options, message] of cases) {
    test(message, async () => {
      const e = await rejection(createPool(options as never));
      expect(e._tag).toBe("ConfigError");
      expect(e.message.startsWith(message)).toBe(true);
    });
  }

  test("a handler that cannot import fails createPool with its WorkerStartError and leaves no process", async () => {
    const e = await rejection(createPool({ name: "v2", handler: fixture("import_error_handler.py"), size: 2, heartbeatMs: 0, onStderr: () => {} }));
    expect(e._tag).toBe("WorkerStartError");
    expect(e.exitCode).toBe(4);
    expect(pidAlive(e.pid as number)).toBe(false);
  });
});

describe("execute checks its call before it queues or sends anything", () => {
  test("bad options, a reserved command and args JSON would change are ConfigErrors", async () => {
    const pool = await createPool({ name: "v2", handler, size: 1, heartbeatMs: 0, onStderr: () => {} });
    try {
      const cases: [Promise<unknown>, string][] = [
        [pool.execute("echo", 1, { signal: "stop" as never }), 'pool "v2" execute: signal must be an AbortSignal, received "stop"'],
        [pool.execute("echo", 1, { timeoutMs: "100" as never }), 'pool "v2" execute: timeoutMs must be a positive number of milliseconds, at most 2147483647'],
        [pool.execute("echo", 1, { timeoutMs: 2 ** 31 }), 'pool "v2" execute: timeoutMs must be a positive number of milliseconds, at most 2147483647'],
        [pool.execute("echo", 1, { sessionId: 7 as never }), 'pool "v2" execute: sessionId must be a string, received 7'],
        [pool.execute("echo", 1, { idempotent: "yes" as never }), 'pool "v2" execute: idempotent must be a boolean, received "yes"'],
        [pool.execute("shutdown"), 'pool "v2" execute: command must be a command other than "shutdown" (it is reserved: use stop()), received "shutdown"'],
        [pool.execute("echo", { rows: [{ score: Number.NaN }] }), 'pool "v2" execute: args.rows[0].score must be a finite number, received NaN'],
      ];
      for (const [call, message] of cases) {
        const e = await rejection(call);
        expect(e._tag).toBe("ConfigError");
        expect(e.message).toStartWith(message);
      }
      expect(pool.stats()).toMatchObject({ inFlight: 0, queued: 0 });
      expect(pool.metrics().workers[0]!.served).toBe(0);
      expect(await pool.execute("echo", 2)).toBe(2);
    } finally {
      await pool.stop();
    }
  });
});
