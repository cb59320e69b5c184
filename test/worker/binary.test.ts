/**
 * Bytes as binary attachments (protocol minor 3) against real workers:
 * a Uint8Array anywhere in args reaches the handler as `bytes`, and bytes,
 * bytearray or memoryview anywhere in a result or a stream's chunk come
 * back as a Uint8Array, exactly; 10 MB and 64 MiB (the default frame
 * limit) go through, and a byte more is refused on either side; an
 * attachment of the wrong length fails its request alone; a worker whose
 * host did not say it reads attachments, and a host talking to a worker
 * from before them, keep to JSON.
 */
import { afterAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { Buffer } from "node:buffer";
import { ConfigError, createPool, DEFAULT_MAX_FRAME_BYTES, Deframer, encodeFrame, type Worker } from "../../mod.ts";
import { type ChildProcess, spawnChild } from "../../src/process/child.ts";
import { resolvePython } from "../../src/process/python.ts";
import { pythonPackageDir } from "../../src/process/python-package.ts";
import { answerReader, concat, fixture, PROCESS_TEST_TIMEOUT_MS, rejection, sleep } from "../helpers.ts";
import { quiet, withWorker as withHandlerWorker } from "./helpers.ts";

setDefaultTimeout(PROCESS_TEST_TIMEOUT_MS);

const handler = fixture("echo_handler.py");
const withWorker = (options: object, body: (w: Worker) => Promise<void>) => withHandlerWorker({ handler, ...quiet, ...options }, body);

/** `size` seeded pseudo-random bytes (xorshift32, four at a time), runs of zeros included. */
function randomBytes(size: number, seed: number): Uint8Array {
  const words = new Uint32Array(Math.ceil(size / 4));
  let x = seed * 2654435761 >>> 0 || 1;
  for (let i = 0; i < words.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    // One word in eight is all zeros.
    words[i] = (x & 7) === 0 ? 0 : x >>> 0;
  }
  return new Uint8Array(words.buffer, 0, size);
}

/** Whether two byte arrays hold the same bytes (toEqual walks 64 MiB element by element). */
const same = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;

describe("bytes in args and results", () => {
  test("bytes in args reach the handler as bytes: nested in objects and arrays, several at once, empty, a Buffer, a view into a larger buffer", () =>
    withWorker({}, async (w) => {
      expect(w.hello.minor).toBe(3);
      const args = { a: [Uint8Array.of(0, 255), { b: new Uint8Array(0) }], c: Buffer.from("hi"), d: "text", e: [1, null] };
      expect(await w.call("bytes_seen", args)).toEqual({ a: ["bytes:00ff", { b: "bytes:" }], c: "bytes:6869", d: "text", e: [1, null] });
      expect(await w.call("bytes_seen", Uint8Array.of(1, 2, 3, 4, 5).subarray(1, 3))).toBe("bytes:0203");
      // What toJSON returns is what travels, bytes included.
      expect(await w.call("bytes_seen", { blob: { toJSON: () => Uint8Array.of(9) } })).toEqual({ blob: "bytes:09" });
      // The caller's args are left as they were.
      expect(args.a[0]).toEqual(Uint8Array.of(0, 255));
    }));

  test("bytes, a bytearray and a memoryview in a result come back as Uint8Array", () =>
    withWorker({}, async (w) => {
      for (const kind of ["bytes", "bytearray", "memoryview"]) {
        expect(await w.call("make_bytes", { size: 3, kind })).toEqual(Uint8Array.of(0, 1, 2));
      }
      expect(await w.call("make_bytes", { size: 2, kind: "memoryview", twice: true })).toEqual([Uint8Array.of(0, 1), Uint8Array.of(0, 1)]);
      const echoed = await w.call<{ data: Uint8Array; n: number }>("echo", { data: Uint8Array.of(7), n: 1 });
      expect([echoed.data instanceof Uint8Array, echoed]).toEqual([true, { data: Uint8Array.of(7), n: 1 }]);
    }));

  test("random bytes round-trip exactly, zeros included, at sizes around the frame-joining threshold, in flight together", () =>
    withWorker({}, async (w) => {
      const sizes = [0, 1, 255, 65_535, 65_536, 65_537, (1 << 20) + 3];
      for (const [i, size] of sizes.entries()) {
        const data = randomBytes(size, i + 1);
        expect(same(await w.call<Uint8Array>("echo", data), data)).toBe(true);
      }
      const many = Array.from({ length: 20 }, (_, i) => randomBytes(1000 + i * 5000, 100 + i));
      const back = await Promise.all(many.map((data, i) => w.call<{ i: number; data: Uint8Array }>("echo", { i, data })));
      expect(back.every((b, i) => b.i === i && same(b.data, many[i]!))).toBe(true);
    }));

  test("streams: bytes in a stream's args, and in its chunks, on a worker and through a pool", async () => {
    await withWorker({}, async (w) => {
      const chunks: { n: number; data: Uint8Array }[] = [];
      for await (const chunk of w.stream<{ n: number; data: Uint8Array }>("byte_chunks", [1, 70_000, 0], { window: 2 })) chunks.push(chunk);
      expect(chunks.map((c) => [c.n, c.data.length, c.data[0]])).toEqual([[1, 1, 1], [70_000, 70_000, 112], [0, 0, undefined]]);
      const echoed: unknown[] = [];
      for await (const item of w.stream("echo", { data: Uint8Array.of(4, 2) })) echoed.push(item);
      expect(echoed).toEqual([{ data: Uint8Array.of(4, 2) }]);
    });
    const pool = await createPool({ name: "bytes", handler, size: 2, ...quiet });
    try {
      const data = randomBytes(200_000, 7);
      expect(same(await pool.execute<Uint8Array>("echo", data), data)).toBe(true);
      const items: Uint8Array[] = [];
      for await (const item of pool.stream<{ data: Uint8Array }>("byte_chunks", [3, 5])) items.push(item.data);
      expect(items).toEqual([Uint8Array.of(3, 3, 3), Uint8Array.of(5, 5, 5, 5, 5)]);
    } finally {
      await pool.stop();
    }
  });

  test("the reserved placeholder key and binary views other than Uint8Array are refused before anything is written", () =>
    withWorker({}, async (w) => {
      const reserved = await rejection(w.call("echo", { x: { "$molt.bytes": 0 } }));
      expect([reserved._tag, reserved.message]).toEqual([
        "ConfigError",
        expect.stringContaining(`args.x must be an object without the key "$molt.bytes"`),
      ]);
      const int16 = await rejection(w.call("echo", { pcm: new Int16Array(2) }));
      expect(int16.message).toContain("args.pcm must be a Uint8Array (bytes travel as a Uint8Array: view the Int16Array's bytes through one)");
      expect(w.stats().calls).toBe(0);
    }));
});

describe("large payloads and the frame limit", () => {
  test("10 MB round-trips", () =>
    withWorker({}, async (w) => {
      const data = randomBytes(10 * 1024 * 1024, 3);
      const back = await w.call<{ data: Uint8Array }>("echo", { data });
      expect(same(back.data, data)).toBe(true);
    }), 60_000);

  test("64 MiB, exactly the default frame limit, round-trips; a byte more is refused by the host before writing and by the worker as FrameTooLarge", () =>
    withWorker({ callTimeoutMs: 120_000 }, async (w) => {
      const max = DEFAULT_MAX_FRAME_BYTES;
      const data = new Uint8Array(max);
      for (let i = 0; i < max; i += 4093) data[i] = (i >>> 12) & 0xff;
      expect(same(await w.call<Uint8Array>("echo", data), data)).toBe(true);

      const calls = w.stats().calls;
      const over = await rejection(w.call("echo", new Uint8Array(max + 1)));
      expect([over._tag, over.reason, over.detail]).toEqual([
        "ProtocolError",
        "frame_too_large",
        `call "echo": attachment 0 (bytes in args) of ${max + 1} bytes is over the maximum of ${max} bytes`,
      ]);
      expect(w.stats().calls).toBe(calls);

      expect((await w.call<Uint8Array>("make_bytes", { size: max })).length).toBe(max);
      const tooLarge = await rejection(w.call("make_bytes", { size: max + 1 }));
      expect([tooLarge._tag, tooLarge.type]).toEqual(["PythonError", "FrameTooLarge"]);
      expect([w.state, await w.call("echo", 1)]).toEqual(["ready", 1]);
    }), 120_000);
});

describe("attachments of the wrong length from a worker", () => {
  test("a stream's chunk whose attachment is not as announced fails that stream alone: it is cancelled, its end is late, and the worker is not recycled", () =>
    withWorker({ cancelGraceMs: 300 }, async (w) => {
      // `emit` writes its frames as chunks of its own stream, then ends it with its own result.
      const chunk = { text: '{"id":1,"chunk":{"$molt.bytes":0},"attachments":[2]}' };
      const items: unknown[] = [];
      const failed = await rejection((async () => {
        for await (const item of w.stream("emit", { payloads: [chunk, { hex: "0aff00" }] })) items.push(item);
      })());
      expect([items, failed._tag, failed.reason, failed.detail]).toEqual([
        [],
        "ProtocolError",
        "invalid_message",
        expect.stringMatching(/^attachment 0 of the frame for call \d+ is 3 bytes, the frame announced 2$/),
      ]);
      await sleep(600);
      expect([w.state, w.stats().recycle, w.stats().cancels, await w.call("echo", 2)]).toEqual(["ready", null, 1, 2]);
    }));
});

/** A worker process spoken to in raw frames: `send` writes them, `answers` reads what comes back (an answer's attachments as hex). */
async function rawWorker(extraArgs: readonly string[]) {
  const deframer = new Deframer();
  const answers: Record<string, unknown>[] = [];
  const waiters: (() => void)[] = [];
  const read = answerReader((answer) => {
    answers.push(answer);
    waiters.shift()?.();
  });
  const child: ChildProcess = await spawnChild({
    argv: [await resolvePython("python3"), "-m", "molt.worker", "--handler", handler, ...extraArgs],
    env: { ...process.env as Record<string, string>, PYTHONPATH: await pythonPackageDir() },
    cwd: undefined,
    onStdout: (chunk) => deframer.push(chunk, read),
    onStderr: () => {},
  });
  const next = (count: number): Promise<Record<string, unknown>[]> =>
    Promise.all(Array.from({ length: count }, () => new Promise<void>((r) => waiters.push(r)))).then(() => answers.splice(0, count));
  const raw = (bytes: Uint8Array): Uint8Array => {
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, bytes.length);
    return concat([header, bytes]);
  };
  await next(1);
  return {
    /** Write JSON frames (objects) and raw frames (Uint8Array) in one write; resolve with the next `count` answers. */
    exchange(frames: readonly (object | Uint8Array)[], count: number): Promise<Record<string, unknown>[]> {
      const answered = next(count);
      child.write(concat(frames.map((f) => (f instanceof Uint8Array ? raw(f) : encodeFrame(JSON.stringify(f))))));
      return answered;
    },
    async close(): Promise<void> {
      child.closeStdin();
      expect(await child.exited).toEqual({ exitCode: 0, signal: null });
    },
  };
}

describe("bad attachments and peers that do not speak minor 3", () => {
  const closers: (() => Promise<void>)[] = [];
  afterAll(async () => {
    for (const close of closers) await close();
  });

  test("an attachment longer than announced is InvalidRequest for that request alone; the next request is served", async () => {
    const worker = await rawWorker(["--host-minor", "3"]);
    closers.push(() => worker.close());
    const answers = await worker.exchange([
      { id: 1, command: "echo", args: { data: { "$molt.bytes": 0 } }, attachments: [2] },
      Uint8Array.of(1, 2, 3),
      { id: 2, command: "echo", args: { "$molt.bytes": 0 }, attachments: [3] },
      Uint8Array.of(1, 2, 3),
    ], 2);
    expect(answers.map((a) => [a.id, a.ok, (a.error as { type?: string } | undefined)?.type, a.attachments])).toEqual([
      [1, false, "InvalidRequest", undefined],
      [2, true, undefined, ["010203"]],
    ]);
    expect((answers[0]!.error as { message: string }).message).toBe("attachment 0 is 3 bytes, the request announced 2");
  });

  test("a worker whose host did not say it reads attachments (no --host-minor) reads bytes in args, and answers a bytes result UnserializableResult", async () => {
    const worker = await rawWorker([]);
    closers.push(() => worker.close());
    const answers = await worker.exchange([
      { id: 1, command: "bytes_seen", args: { "$molt.bytes": 0 }, attachments: [1] },
      Uint8Array.of(255),
      { id: 2, command: "make_bytes", args: { size: 3 } },
      { id: 3, command: "ping", args: null },
    ], 3);
    expect(answers.map((a) => [a.id, a.ok, a.result ?? (a.error as { type: string }).type])).toEqual([
      [1, true, "bytes:ff"],
      [2, false, "UnserializableResult"],
      [3, true, "pong"],
    ]);
    expect((answers[1]!.error as { message: string }).message).toContain("bytes travel only to a host that reads binary attachments");
  });

  for (const minor of [0, 2]) {
    test(`a host sends no bytes to a worker of minor ${minor}: the call is a ConfigError, nothing is written, the worker serves on`, () =>
      withWorker({ env: { PYTHONPATH: fixture(`minor${minor}`) } }, async (w) => {
        expect(w.hello.minor).toBe(minor);
        const refused = await rejection(w.call("echo", { data: Uint8Array.of(1) }));
        expect(refused).toBeInstanceOf(ConfigError);
        expect(refused.message).toBe(
          `worker "${w.id}" call "echo": args must be JSON data without bytes for this worker: it speaks protocol minor ${minor}, and bytes travel from minor 3, received "bytes (a Uint8Array)"`,
        );
        const streamed = await rejection((async () => {
          for await (const _ of w.stream("echo", Uint8Array.of(1))) { /* nothing comes */ }
        })());
        expect(streamed._tag).toBe("ConfigError");
        expect(w.stats().calls).toBe(0);
        expect(await w.call("echo", { data: "ok" })).toEqual({ data: "ok" });
      }));
  }
});
