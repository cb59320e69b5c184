import { describe, expect, test } from "bun:test";
import {
  BreakerOpenError,
  CallAbortedError,
  classifyError,
  PoolDrainingError,
  PoolSaturatedError,
  ProtocolError,
  PythonError,
  QueueTimeoutError,
  SessionWorkerLostError,
  WorkerExitedError,
  WorkerStartError,
  WorkerTimeoutError,
  WorkerUnavailableError,
} from "../../mod.ts";

const exited = (written: boolean) =>
  new WorkerExitedError({ workerId: "w", pid: 1, requestId: 1, command: "x", exitCode: null, signal: "SIGKILL", stderrTail: [], written });
const python = (type: string) => new PythonError({ workerId: "w", pid: 1, requestId: 1, command: "x", type, detail: "d", traceback: undefined });

describe("classifyError", () => {
  test("each error lands in the plan's category, with what the resilience layer acts on", () => {
    const cases: [unknown, string, boolean, boolean][] = [
      [new WorkerStartError({ workerId: "w", reason: "exited", detail: "", pid: 1, exitCode: 4, signal: null, stderrTail: [] }), "initialization", true, false],
      [new WorkerUnavailableError({ workerId: "w", state: "stopping", command: "x" }), "connection", false, false],
      [exited(true), "connection", true, true],
      [exited(false), "connection", true, false],
      [new ProtocolError({ reason: "invalid_json", detail: "" }), "communication", true, true],
      [new WorkerTimeoutError({ workerId: "w", pid: 1, requestId: 1, command: "x", timeoutMs: 5 }), "timeout", true, true],
      [new QueueTimeoutError({ pool: "p", command: "x", waitedMs: 5, limitMs: 5 }), "timeout", false, false],
      [new PoolSaturatedError({ pool: "p", command: "x", queued: 1, maxQueue: 1 }), "resource", false, false],
      [new SessionWorkerLostError({ pool: "p", command: "x", sessionId: "s", workerId: "w" }), "session", false, false],
      [python("ValueError"), "python", false, true],
      [python("MemoryError"), "resource", false, true],
      [new BreakerOpenError({ pool: "p", command: "x", state: "open" }), "system", false, false],
      [new PoolDrainingError({ pool: "p", command: "x", state: "draining", inFlight: false }), "system", false, false],
      [new PoolDrainingError({ pool: "p", command: "x", state: "draining", inFlight: true }), "system", false, true],
      [new CallAbortedError({ workerId: "w", requestId: 0, command: "x", written: false }), "system", false, false],
      [new CallAbortedError({ workerId: "w", requestId: 1, command: "x", written: true }), "system", false, true],
    ];
    for (const [error, category, infrastructure, mayHaveRun] of cases) {
      const k: { category: string; infrastructure: boolean; mayHaveRun: boolean } = classifyError(error);
      expect({ tag: (error as { _tag: string })._tag, category: k.category, infrastructure: k.infrastructure, mayHaveRun: k.mayHaveRun })
        .toEqual({ tag: (error as { _tag: string })._tag, category, infrastructure, mayHaveRun });
    }
  });

  test("an unknown error is a critical system error that may have run", () => {
    expect(classifyError(new TypeError("boom"))).toEqual({ category: "system", severity: "critical", infrastructure: false, mayHaveRun: true });
    expect(classifyError(null).category).toBe("system");
  });
});
