import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, isMoltError, spawnWorker, type Worker, WorkerStartError } from "../../mod.ts";
import { fixture, pidAlive, PROCESS_TEST_TIMEOUT_MS, pythonTests, rejection, waitFor } from "../helpers.ts";
import { quiet, withWorker } from "./helpers.ts";

setDefaultTimeout(PROCESS_TEST_TIMEOUT_MS);

const handler = fixture("echo_handler.py");

describe("calls", () => {
  test("answers calls and reports health", () =>
    withWorker({ handler, ...quiet }, async (w) => {
      expect(w.state).toBe("ready");
      expect(w.hello.protocol).toBe(1);
      expect(w.hello.commands).toContain("echo");
      expect(await w.call("echo", { a: [1, "é"] })).toEqual({ a: [1, "é"] });
      const health = await w.health();
      expect(health.pid).toBe(w.pid);
      expect(health.rssBytes).toBeGreaterThan(1_000_000);
      expect(health.served).toBe(1);
    }));

  test("passes session and deadline to the handler", () =>
    withWorker({ handler, ...quiet }, async (w) => {
      const ctx = (await w.call("context", null, { sessionId: "s-9", timeoutMs: 4000 })) as Record<string, unknown>;
      expect(ctx.session).toBe("s-9");
      expect(ctx.command).toBe("context");
      expect(ctx.remaining as number).toBeGreaterThan(3);
      expect(ctx.remaining as number).toBeLessThanOrEqual(4);
    }));

  test("a handler exception is a PythonError with its traceback, and the worker keeps serving", () =>
    withWorker({ handler, ...quiet }, async (w) => {
      const e = await rejection(w.call("fail", { message: "bad input" }));
      expect(e._tag).toBe("PythonError");
      expect(e.type).toBe("ValueError");
      expect(e.detail).toBe("bad input");
      expect(e.traceback as string).toContain("raise ValueError");
      expect(isMoltError(e)).toBe(true);
      expect(await w.call("echo", 1)).toBe(1);
    }));

  test("an unknown command is a PythonError naming the commands served", () =>
    withWorker({ handler, ...quiet }, async (w) => {
      const e = await rejection(w.call("nope"));
      expect(e.type).toBe("UnknownCommand");
      expect(e.detail as string).toContain("echo");
      expect(w.state).toBe("ready");
    }));

  test("print() in a handler goes to stderr, never into the frame stream", async () => {
    const lines: string[] = [];
    await withWorker({ handler, heartbeatMs: 0, onStderr: (l) => lines.push(l) }, async (w) => {
      expect(await w.call("chatty")).toBe("quiet");
      expect(await waitFor(() => lines.length >= 2, 2000)).toBe(true);
      expect(lines).toEqual(["hello from print()", "written to fd 1"]);
    });
  });

  test("a handler that floods stderr without a newline: each line is kept and forwarded up to 8192 characters, the rest counted", async () => {
    const lines: string[] = [];
    await withWorker({ handler: fixture("hostile_handler.py"), heartbeatMs: 0, stderrTailLines: 3, onStderr: (l) => lines.push(l) }, async (w) => {
      expect(await w.call("stderr_flood", { mb: 64 })).toBe("flooded");
      expect(await waitFor(() => lines.includes("after the flood"), 10_000)).toBe(true);
      const flood = `${"x".repeat(8192)} … (${64 * 1024 * 1024 - 8192} more characters)`;
      expect(lines.slice(-2)).toEqual([flood, "after the flood"]);
      expect(w.stderrTail().slice(-2)).toEqual([flood, "after the flood"]);
      expect(await w.call("echo", "still here")).toBe("still here");
    });
  });

  test("reading the stderr tail of a running worker changes nothing: a line it is still writing is shown, not ended", async () => {
    const lines: string[] = [];
    await withWorker({ handler: fixture("hostile_handler.py"), heartbeatMs: 0, onStderr: (l) => lines.push(l) }, async (w) => {
      await w.call("stderr_partial", { text: "half a " });
      expect(await waitFor(() => w.stderrTail().at(-1) === "half a ", 5000)).toBe(true);
      expect(w.stderrTail().at(-1)).toBe("half a ");
      await w.call("stderr_partial", { text: "line\n" });
      expect(await waitFor(() => lines.includes("half a line"), 5000)).toBe(true);
      expect(lines.filter((l) => l.startsWith("half"))).toEqual(["half a line"]);
    });
  });

  test("an oversize request is refused before it is written; an oversize result is an error", () =>
    withWorker({ handler, ...quiet, maxFrameBytes: 1024 }, async (w) => {
      const sent = await rejection(w.call("echo", "x".repeat(2000)));
      expect(sent._tag).toBe("ProtocolError");
      expect(sent.reason).toBe("frame_too_large");
      const result = await rejection(w.call("big", { bytes: 5000 }));
      expect(result._tag).toBe("PythonError");
      expect(result.type).toBe("FrameTooLarge");
      expect(await w.call("echo", "still in sync")).toBe("still in sync");
      expect(w.stats().calls).toBe(2);
    }));

  test("a per-call timeoutMs that is not a positive number of at most 2^31 - 1 ms is a ConfigError, and nothing is sent", () =>
    withWorker({ handler, ...quiet }, async (w) => {
      for (const timeoutMs of [0, -5, Number.NaN, Infinity, 2 ** 31, "100"]) {
        const e = await rejection(w.call("echo", 1, { timeoutMs: timeoutMs as number }));
        expect(e).toBeInstanceOf(ConfigError);
        expect(e.message).toContain(`worker "${w.id}" call "echo": timeoutMs must be a positive number of milliseconds, at most 2147483647`);
      }
      expect(w.stats().calls).toBe(0);
    }));

  test("call options of the wrong type are ConfigErrors, and nothing is sent", () =>
    withWorker({ handler, ...quiet }, async (w) => {
      const cases: [unknown, string][] = [
        [{ sessionId: 42 }, `worker "${w.id}" call "context": sessionId must be a string, received 42`],
        [{ signal: { aborted: false } }, `worker "${w.id}" call "context": signal must be an AbortSignal, received {"aborted":false}`],
        ["fast", `worker "${w.id}" call "context": options must be an object, received "fast"`],
      ];
      for (const [options, message] of cases) {
        const e = await rejection(w.call("context", null, options as never));
        expect([e._tag, e.message]).toEqual(["ConfigError", message]);
      }
      expect(w.stats().calls).toBe(0);
      expect(((await w.call("context", null, { sessionId: "s" })) as { session: string }).session).toBe("s");
    }));

  test('the built-in "shutdown" cannot be called: stop() is the way', () =>
    withWorker({ handler, ...quiet }, async (w) => {
      const e = await rejection(w.call("shutdown"));
      expect([e._tag, e.message]).toEqual(["ConfigError", `worker "${w.id}" call "shutdown": command must be a command other than "shutdown" (it is reserved: use stop()), received "shutdown"`]);
      expect(w.state).toBe("ready");
      expect(await w.call("echo", 1)).toBe(1);
    }));

  test("args that JSON would change or refuse are ConfigErrors naming the path, and nothing is sent", () =>
    withWorker({ handler, ...quiet }, async (w) => {
      const cyclic: Record<string, unknown> = { a: { b: 1 } };
      (cyclic.a as Record<string, unknown>).back = cyclic;
      let deep: unknown = 1;
      for (let i = 0; i < 501; i++) deep = [deep];
      const cases: [unknown, string, string][] = [
        [{ items: [{}, {}, {}, { score: Number.NaN }] }, "args.items[3].score", "a finite number, received NaN"],
        [{ n: 1n }, "args.n", "a finite number (a BigInt has no JSON form: convert it to a number or a string), received 1n"],
        [[1, Infinity], "args[1]", "a finite number, received Infinity"],
        [{ f: () => 1 }, "args.f", "JSON data (a function has no JSON form), received function f"],
        [{ s: Symbol("x") }, "args.s", "JSON data (a symbol has no JSON form), received Symbol(x)"],
        [{ m: new Map([["k", 1]]) }, "args.m", "a plain object or an array (a Map has no JSON form: convert it first), received Map(1)"],
        [new Set([1]), "args", "a plain object or an array (a Set has no JSON form: convert it first), received Set(1)"],
        [[1, undefined], "args[1]", "JSON data (undefined in an array would be sent as null), received undefined"],
        [{ "odd key": [-Infinity] }, 'args["odd key"][0]', "a finite number, received -Infinity"],
        [cyclic, "args.a.back", "free of cycles (it is args again), received"],
        [deep, "args" + "[0]".repeat(500), "nested at most 500 levels deep, received"],
      ];
      for (const [args, path, rest] of cases) {
        const e = await rejection(w.call("echo", args));
        expect(e._tag).toBe("ConfigError");
        expect(e.message).toStartWith(`worker "${w.id}" call "echo": ${path} must be ${rest}`);
      }
      expect(w.stats().calls).toBe(0);
      let ok: unknown = 1;
      for (let i = 0; i < 500; i++) ok = [ok];
      expect(await w.call("echo", ok)).toEqual(ok);
      const shared = { x: 1 };
      expect(await w.call("echo", { a: shared, b: shared, u: undefined, d: new Date(0) })).toEqual({ a: shared, b: shared, d: "1970-01-01T00:00:00.000Z" });
      expect(w.state).toBe("ready");
    }));

  test("10,000 pipelined calls under --threads 4 all resolve, out of order, to their own answers", () =>
    withWorker({ handler, ...quiet, threads: 4 }, async (w) => {
      const order: number[] = [];
      const calls = Array.from({ length: 10_000 }, (_, i) =>
        (i % 50 === 0 ? w.call("sleep", { seconds: 0.002 }) : w.call("echo", { i })).then((r) => {
          order.push(i);
          return r;
        }));
      const results = await Promise.all(calls);
      results.forEach((r, i) => {
        if (i % 50 !== 0) expect(r).toEqual({ i });
      });
      const inOrder = order.every((v, k) => k === 0 || v > order[k - 1]!);
      expect(inOrder).toBe(false);
      expect(w.stats()).toMatchObject({ calls: 10_000, succeeded: 10_000, inFlight: 0, lateResponses: 0 });
    }), 30_000);

  test("with one thread, a call that runs long does not hold back the answers of the calls read before it", () =>
    withWorker({ handler, ...quiet }, async (w) => {
      const dir = mkdtempSync(join(tmpdir(), "molt-held-"));
      const release = join(dir, "release");
      // Written in one turn, so in one write: the worker reads both at once, and used to answer the echo only
      // with the call after it, once that call had waited its 10 s out.
      try {
        const fast = w.call("echo", { n: 1 });
        const slow = w.call("wait_for", { path: release, seconds: 10 });
        expect(await fast).toEqual({ n: 1 });
        writeFileSync(release, "");
        expect(await slow).toEqual({ released: true });
      } finally {
        rmSync(dir, { recursive: true });
      }
    }));

  test("answers held while a call runs inline: sent when it runs long, left to the read otherwise, never lost at exit (test/python/held_answers_test.py)", () => {
    expect(pythonTests("held_answers_test.py")).toEqual({ status: 0, stderr: "" });
  });

  test("an aborted call rejects with CallAbortedError and leaves the worker serving", () =>
    withWorker({ handler, ...quiet, threads: 2 }, async (w) => {
      const controller = new AbortController();
      const slow = w.call("sleep", { seconds: 0.3 }, { signal: controller.signal });
      controller.abort();
      const e = await rejection(slow);
      expect(e._tag).toBe("CallAbortedError");
      expect(e.written).toBe(true);
      const pre = await rejection(w.call("echo", 1, { signal: AbortSignal.abort() }));
      expect(pre.written).toBe(false);
      expect(await w.call("echo", 3)).toBe(3);
      expect(await waitFor(() => w.stats().lateResponses === 1, 2000)).toBe(true);
    }));
});

describe("failures", () => {
  test("a Python runtime speaking another protocol version is refused at start, saying both versions", async () => {
    const e = await rejection(spawnWorker({ handler: fixture("protocol2_handler.py"), ...quiet }));
    expect(e._tag).toBe("WorkerStartError");
    expect(e.reason).toBe("protocol");
    expect(e.message).toContain("worker speaks protocol 2, this host speaks 1");
  });

  test("a deadline rejects with WorkerTimeoutError at once, and marks the worker for recycling when the call keeps running past the cancel grace", () =>
    withWorker({ handler, ...quiet, threads: 2, cancelGraceMs: 300 }, async (w) => {
      const e = await rejection(w.call("sleep", { seconds: 2 }, { timeoutMs: 100 }));
      expect(e._tag).toBe("WorkerTimeoutError");
      expect(e).toMatchObject({ workerId: w.id, pid: w.pid, command: "sleep", timeoutMs: 100 });
      // Cancelled, and given its grace: time.sleep does not look at ctx.cancelled, so it runs on past it.
      expect([w.state, w.stats().cancels]).toEqual(["ready", 1]);
      expect(await waitFor(() => w.state === "degraded", 5000)).toBe(true);
      expect(w.stats().recycle).toBe("deadline_overrun");
      expect(await w.call("echo", "degraded still serves")).toBe("degraded still serves");
    }));

  test("recycleOnOverrun: false keeps the worker ready after a timeout", () =>
    withWorker({ handler, ...quiet, threads: 2, recycleOnOverrun: false }, async (w) => {
      await rejection(w.call("sleep", { seconds: 1 }, { timeoutMs: 50 }));
      expect(w.state).toBe("ready");
    }));

  test("SIGKILL mid-call rejects every call in flight with WorkerExitedError at once", async () => {
    const w = await spawnWorker({ handler, ...quiet, threads: 4 });
    const inFlight = [1, 2, 3].map(() => w.call("sleep", { seconds: 10 }));
    process.kill(w.pid, "SIGKILL");
    const errors = await Promise.all(inFlight.map(rejection));
    for (const e of errors) {
      expect(e._tag).toBe("WorkerExitedError");
      expect(e).toMatchObject({ signal: "SIGKILL", exitCode: null, pid: w.pid, command: "sleep" });
    }
    expect(w.state).toBe("crashed");
    expect((await rejection(w.call("echo", 1)))._tag).toBe("WorkerUnavailableError");
    await w.stop();
  });

  test("a process that exits by itself mid-call reports its exit code and stderr", async () => {
    const w = await spawnWorker({ handler, ...quiet });
    const e = await rejection(w.call("crash", { code: 7 }));
    expect(e._tag).toBe("WorkerExitedError");
    expect(e.exitCode).toBe(7);
    expect(w.state).toBe("crashed");
  });

  test("garbage on stdout is a ProtocolError; the worker is killed and reported crashed", async () => {
    const w = await spawnWorker({ handler, ...quiet, threads: 2 });
    const bystander = w.call("sleep", { seconds: 5 });
    const e = await rejection(w.call("garbage"));
    expect(e._tag).toBe("ProtocolError");
    expect(e).toMatchObject({ reason: "invalid_json", workerId: w.id, pid: w.pid });
    expect((await rejection(bystander))._tag).toBe("ProtocolError");
    expect((await w.exited).signal).toBe("SIGKILL");
    expect(w.state).toBe("crashed");
  });

  test("missed heartbeats make the worker degraded, an answer makes it ready again", async () => {
    const w = await spawnWorker({ handler, onStderr: () => {}, heartbeatMs: 50, heartbeatTimeoutMs: 40, unhealthyAfterMisses: 2, recycleOnOverrun: false });
    try {
      void w.call("busy", { seconds: 0.4 }).catch(() => {});
      expect(await waitFor(() => w.state === "degraded", 2000)).toBe(true);
      expect(w.stats().missedHeartbeats).toBeGreaterThanOrEqual(2);
      expect(await waitFor(() => w.state === "ready", 3000)).toBe(true);
      expect(w.stats().missedHeartbeats).toBe(0);
    } finally {
      await w.stop();
    }
  });
});

describe("start failures say what to fix", () => {
  test("a missing interpreter", async () => {
    const e = await rejection(spawnWorker({ handler, python: "python-molt-missing", ...quiet }));
    expect(e).toBeInstanceOf(WorkerStartError);
    expect(e.reason).toBe("spawn_failed");
    expect(e.message).toContain('python interpreter "python-molt-missing" was not found');
  });

  test("a missing handler file", async () => {
    const e = await rejection(spawnWorker({ handler: "/nowhere/handler.py", ...quiet }));
    expect(e).toMatchObject({ _tag: "WorkerStartError", reason: "exited", exitCode: 3 });
    expect(e.message).toContain("handler file not found: /nowhere/handler.py");
  });

  test("an ImportError, with its traceback", async () => {
    const e = await rejection(spawnWorker({ handler: fixture("import_error_handler.py"), ...quiet }));
    expect(e).toMatchObject({ reason: "exited", exitCode: 4 });
    expect((e.stderrTail as string[]).join("\n")).toContain("ModuleNotFoundError: No module named 'molt_no_such_dependency'");
  });

  test("an interpreter that hangs fails the start within startTimeoutMs, and is killed with what it started", async () => {
    const dir = mkdtempSync(join(tmpdir(), "molt-hang-"));
    const python = join(dir, "python3");
    const pidFile = join(dir, "sleep.pid");
    writeFileSync(python, `#!/bin/sh\nsleep 30 &\necho $! > ${pidFile}\nwait\n`, { mode: 0o755 });
    try {
      const t0 = performance.now();
      const e = await rejection(spawnWorker({ handler, python, ...quiet, startTimeoutMs: 1500 }));
      const took = performance.now() - t0;
      expect(e).toMatchObject({ _tag: "WorkerStartError", reason: "timeout" });
      expect(e.message).toContain(`python interpreter ${JSON.stringify(python)} did not report sys.executable within 1500 ms`);
      expect(took).toBeGreaterThanOrEqual(1400);
      expect(took).toBeLessThan(2500);
      expect(await waitFor(() => !pidAlive(Number(readFileSync(pidFile, "utf8"))), 1000)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 10_000);

  test("no hello within startTimeoutMs: the process is killed", async () => {
    const e = await rejection(spawnWorker({ handler: fixture("slow_start_handler.py"), ...quiet, startTimeoutMs: 300 }));
    expect(e).toMatchObject({ _tag: "WorkerStartError", reason: "timeout", signal: "SIGKILL" });
    expect(pidAlive(e.pid as number)).toBe(false);
  });
});

describe("options", () => {
  const cases: [Record<string, unknown>, string][] = [
    [{ handler, threads: 0 }, 'worker "w": threads must be a positive integer, received 0'],
    [{ handler, heartbeatMs: -1 }, "heartbeatMs must be a non-negative integer of milliseconds, at most 2147483647 (the longest a timer can wait, about 24.8 days), received -1"],
    [{ handler, startTimeoutMs: "10s" }, 'startTimeoutMs must be a positive integer of milliseconds, at most 2147483647 (the longest a timer can wait, about 24.8 days), received "10s"'],
    [{ handler, startTimeoutMs: 2 ** 31 }, "startTimeoutMs must be a positive integer of milliseconds, at most 2147483647 (the longest a timer can wait, about 24.8 days), received 2147483648"],
    [{ handler, drainTimeoutMs: 2 ** 31 }, "drainTimeoutMs must be a non-negative integer of milliseconds, at most 2147483647 (the longest a timer can wait, about 24.8 days), received 2147483648"],
    [{ handler, maxFrameBytes: 10 }, "maxFrameBytes must be an integer from 64 to 536870912 (512 MiB), received 10"],
    [{ handler, maxFrameBytes: 2 ** 33 }, "maxFrameBytes must be an integer from 64 to 536870912 (512 MiB), received 8589934592"],
    [{ handler, env: { A: 1 } }, 'env must be an object of string values, received {"A":1}'],
    [{ handler, recycleOnOverun: true }, "recycleOnOverun must be one of the known options"],
    [{}, "handler must be a .py file path or a module name, received undefined"],
  ];
  for (const [options, message] of cases) {
    test(message, async () => {
      const e = await rejection(spawnWorker({ id: "w", ...options } as never));
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).toContain(message);
    });
  }
});

describe("stop", () => {
  test("drains calls in flight, then shuts down with exit code 0; safe to repeat", async () => {
    const w = await spawnWorker({ handler, ...quiet, threads: 2 });
    const inFlight = w.call("sleep", { seconds: 0.2 });
    const stopping = w.stop();
    expect(w.state).toBe("draining");
    expect((await rejection(w.call("echo", 1)))._tag).toBe("WorkerUnavailableError");
    expect(await inFlight).toMatchObject({ slept: 0.2 });
    expect(await stopping).toEqual({ exitCode: 0, signal: null });
    expect(await w.stop()).toEqual({ exitCode: 0, signal: null });
    expect(w.state).toBe("exited");
    expect(pidAlive(w.pid)).toBe(false);
  });

  test("escalates to SIGTERM when shutdown is not answered in time", async () => {
    const w = await spawnWorker({ handler, ...quiet, drainTimeoutMs: 0, shutdownGraceMs: 100 });
    void w.call("busy", { seconds: 5 }).catch(() => {});
    const exit = await w.stop();
    expect(exit.signal).toBe("SIGTERM");
    expect(w.state).toBe("exited");
  });

  test("escalates to SIGKILL when SIGTERM is ignored", async () => {
    const w = await spawnWorker({ handler, ...quiet, drainTimeoutMs: 0, shutdownGraceMs: 50, killGraceMs: 100 });
    await w.call("ignore_sigterm");
    void w.call("busy", { seconds: 5 }).catch(() => {});
    const exit = await w.stop();
    expect(exit.signal).toBe("SIGKILL");
  });
});
