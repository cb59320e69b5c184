import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Deframer, spawnWorker, type Worker } from "../../mod.ts";
import { spawnChild, type ChildProcess } from "../../src/process/child.ts";
import { resolvePython } from "../../src/process/python.ts";
import { pythonPackageDir } from "../../src/process/python-package.ts";
import { answerReader, concat, fixture, partBytes, repoPath } from "../helpers.ts";
import requests from "../spec/protocol/requests.json" with { type: "json" };
import responses from "../spec/protocol/responses.json" with { type: "json" };

describe("request vectors against a real worker process (raw frames)", () => {
  let child: ChildProcess;
  const answers: unknown[] = [];
  const waiters: (() => void)[] = [];
  beforeAll(async () => {
    const deframer = new Deframer();
    const read = answerReader((answer) => {
      answers.push(answer);
      waiters.shift()?.();
    });
    child = await spawnChild({
      argv: [
        await resolvePython("python3"), "-m", "molt.worker", "--handler", repoPath(requests.handler),
        "--max-frame-bytes", String(requests.maxFrameBytes), "--host-minor", String(requests.hostMinor),
      ],
      env: { ...process.env as Record<string, string>, PYTHONPATH: await pythonPackageDir() },
      cwd: undefined,
      onStdout: (chunk) => deframer.push(chunk, read),
      onStderr: () => {},
    });
    await new Promise<void>((r) => waiters.push(r));
    expect((answers.shift() as { id: number }).id).toBe(0);
  });
  afterAll(async () => {
    child.closeStdin();
    expect(await child.exited).toEqual({ exitCode: 0, signal: null });
  });

  type Answer = { id: number | null; ok?: boolean; result?: unknown; error?: { type: string }; chunk?: unknown; end?: number; attachments?: string[] };
  type Expected = { id: number | null; ok?: boolean; result?: unknown; errorType?: string; chunk?: unknown; end?: number; attachments?: string[] };
  const byId = <T extends { id: number | null }>(xs: T[]): T[] => [...xs].sort((a, b) => (a.id ?? -1) - (b.id ?? -1));
  for (const c of requests.cases as Array<{ name: string; payload?: string; payloadHex?: string; payloads?: (string | { hex: string })[]; expect: Expected | Expected[] }>) {
    test(c.name, async () => {
      const payloads = c.payloads !== undefined
        ? c.payloads.map((p) => typeof p === "string" ? new TextEncoder().encode(p) : partBytes(p))
        : [c.payloadHex !== undefined ? partBytes({ hex: c.payloadHex }) : new TextEncoder().encode(c.payload!)];
      const expected = Array.isArray(c.expect) ? c.expect : [c.expect];
      const framed = payloads.flatMap((payload) => {
        const header = new Uint8Array(4);
        new DataView(header.buffer).setUint32(0, payload.length);
        return [header, payload];
      });
      const answered = Promise.all(expected.map(() => new Promise<void>((r) => waiters.push(r))));
      child.write(concat(framed));
      await answered;
      const got = byId(answers.splice(0, expected.length) as Answer[]);
      // Sorted by id only (a stable sort): a stream's chunks keep their order.
      for (const [i, want] of byId(expected).entries()) {
        const answer = got[i]!;
        if ("chunk" in want || "end" in want) {
          expect(answer).toEqual(want as Answer);
          continue;
        }
        expect([answer.id, answer.ok, answer.attachments]).toEqual([want.id, want.ok, want.attachments]);
        if (want.ok) expect(answer.result).toEqual(want.result);
        else expect(answer.error?.type).toBe(want.errorType!);
      }
    });
  }
});

describe("response vectors: what the host does with each frame a worker writes", () => {
  for (const c of responses.cases) {
    test(c.name, async () => {
      const worker: Worker = await spawnWorker({ handler: fixture("echo_handler.py"), heartbeatMs: 0, onStderr: () => {} });
      const items = "payloads" in c ? c.payloads : ["payloadHex" in c ? { hex: c.payloadHex } : { text: c.payload }];
      const outcome = await worker.call("emit", { payloads: items }).then(
        (value) => ({ value }),
        (error: { _tag: string; reason?: string }) => ({ error }),
      );
      switch (c.expect) {
        case "result":
          expect(outcome).toEqual({ value: { x: 1 } });
          break;
        case "python_error":
          expect("error" in outcome && outcome.error._tag).toBe("PythonError");
          break;
        case "result_bytes":
          expect(outcome).toEqual({ value: { x: Uint8Array.of(10, 255) } });
          break;
        case "refused":
          // That call fails alone: the frames around its attachments are intact, and the worker serves on.
          expect("error" in outcome && [outcome.error._tag, outcome.error.reason]).toEqual(["ProtocolError", "invalid_message"]);
          expect(await worker.call("echo", 5)).toBe(5);
          expect(worker.state).toBe("ready");
          break;
        case "late":
          expect(outcome).toEqual({ value: "emitted" });
          expect(worker.stats().lateResponses).toBe(1);
          break;
        case "unattributed":
          expect(outcome).toEqual({ value: "emitted" });
          expect(worker.stats().unattributedErrors).toBe(1);
          break;
        default: {
          expect("error" in outcome && outcome.error._tag).toBe("ProtocolError");
          expect("error" in outcome && outcome.error.reason).toBe(c.expect);
          const exit = await worker.exited;
          expect(exit.signal).toBe("SIGKILL");
          expect(worker.state).toBe("crashed");
        }
      }
      await worker.stop();
      expect(["exited", "crashed"]).toContain(worker.state);
    });
  }
});
