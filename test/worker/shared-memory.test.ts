/**
 * sharedMemoryBytes: bytes of 64 KiB and more cross in two rings of memory
 * shared with the worker (Bun.mmap) instead of the pipes. Both sides place
 * each piece by the same rule and take them in frame order, so the tests
 * send many calls at once, of sizes that wrap the rings and overflow into
 * the pipes, and check that every call gets its own bytes back. Where there
 * is no Bun.mmap (this file under Node) the option changes nothing.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import { createPool, spawnWorker, type Worker } from "../../mod.ts";
import { fixture, PROCESS_TEST_TIMEOUT_MS, pythonTests, rejection } from "../helpers.ts";
import { quiet, withWorker } from "./helpers.ts";

setDefaultTimeout(PROCESS_TEST_TIMEOUT_MS);

const canShare = typeof (globalThis as { Bun?: { mmap?: unknown } }).Bun?.mmap === "function" && process.platform === "linux";
const handler = fixture("echo_handler.py");
const KiB = 1024;
const MiB = 1024 * KiB;

/** `size` bytes that differ from call to call and from place to place. */
function pattern(size: number, seed: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < size; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

const equalBytes = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && Buffer.compare(a, b) === 0;
const echo = async (w: Worker, bytes: Uint8Array): Promise<Uint8Array> => (await w.call<{ data: Uint8Array }>("echo", { data: bytes })).data;
/**
 * The header of the rings worker `w` made, read by this process: how far each side has read the
 * other's ring (bytes since the start), its "molt-rng" and whether the host marked them mapped.
 */
function ringHeader(w: Worker): { workerRead: number; hostRead: number; magic: string; hostMapped: number } {
  const header = readFileSync(`/proc/${w.pid}/fd/${w.hello.shared_memory}`).subarray(0, 64);
  const at = (i: number): number => Number(header.readBigUInt64LE(i));
  return { workerRead: at(0), hostRead: at(8), magic: header.subarray(16, 24).toString(), hostMapped: header[24]! };
}

describe("shared memory", () => {
  test("bytes of 64 KiB and more cross through the rings, equal both ways; the rings are a memfd of the worker's, in no directory", () =>
    withWorker({ handler, ...quiet, sharedMemoryBytes: 4 * MiB }, async (w) => {
      expect(w.hello.shared_memory).toEqual(canShare ? expect.any(Number) : undefined);
      if (canShare) {
        expect(readlinkSync(`/proc/${w.pid}/fd/${w.hello.shared_memory}`)).toBe("/memfd:molt-rings (deleted)");
        expect(ringHeader(w)).toEqual({ workerRead: 0, hostRead: 0, magic: "molt-rng", hostMapped: 1 });
      }
      for (const [i, size] of [0, 1, 64 * KiB - 1, 64 * KiB, MiB, 3 * MiB, 4 * MiB].entries()) {
        const sent = pattern(size, i);
        expect(equalBytes(await echo(w, sent), sent)).toBe(true);
      }
      // The four of 64 KiB or more went through the rings, both ways (and the gaps skipped at their ends).
      if (canShare) {
        const { workerRead, hostRead } = ringHeader(w);
        expect([workerRead >= 64 * KiB + 8 * MiB, hostRead >= 64 * KiB + 8 * MiB]).toEqual([true, true]);
        // Each ring is now in the worker's memory up to its end (4 MiB each way): its health leaves them out.
        const { rssBytes } = await w.health();
        const vmRss = Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${w.pid}/status`, "utf8"))![1]) * KiB;
        expect(vmRss - rssBytes).toBeGreaterThan(7 * MiB);
      }
      // Bytes among other values, several in one call.
      const [a, b, c] = [pattern(200 * KiB, 7), pattern(10, 8), pattern(300 * KiB, 9)];
      const got = await w.call<{ list: Uint8Array[]; n: number }>("echo", { list: [a, b, c], n: 3 });
      expect([equalBytes(got.list[0]!, a), equalBytes(got.list[1]!, b), equalBytes(got.list[2]!, c), got.n]).toEqual([true, true, true, 3]);
    }));

  test("60 calls at once on 4 threads wrap the rings and overflow into the pipes: every call gets its own bytes back", () =>
    withWorker({ handler, ...quiet, threads: 4, sharedMemoryBytes: MiB }, async (w) => {
      const sizes = Array.from({ length: 60 }, (_, i) => [64 * KiB, 100 * KiB, 333 * KiB, 700 * KiB, MiB, 5 * KiB][i % 6]!);
      const sent = sizes.map((size, i) => pattern(size, 100 + i));
      const got = await Promise.all(sent.map((bytes) => echo(w, bytes)));
      expect(got.map((bytes, i) => equalBytes(bytes, sent[i]!))).toEqual(sent.map(() => true));
      // And again, the rings' positions now far from their starts.
      const again = await Promise.all(sent.map((bytes) => echo(w, bytes)));
      expect(again.map((bytes, i) => equalBytes(bytes, sent[i]!))).toEqual(sent.map(() => true));
      // Both rings went round several times: the calls did not all take the pipes.
      if (canShare) {
        const { workerRead, hostRead } = ringHeader(w);
        expect([workerRead > 3 * MiB, hostRead > 3 * MiB]).toEqual([true, true]);
      }
    }));

  test("several large values in one answer never wait for room that only their own frame would free", () =>
    withWorker({ handler, ...quiet, sharedMemoryBytes: MiB, callTimeoutMs: 10_000 }, async (w) => {
      // Two values that do not fit the ring together; then four that fit only without the gap skipped at its end.
      const first = [pattern(700 * KiB, 1), pattern(700 * KiB, 2)];
      const got = await w.call<{ list: Uint8Array[] }>("echo", { list: first });
      expect(got.list.map((b, i) => equalBytes(b, first[i]!))).toEqual([true, true]);
      const lone = pattern(700 * KiB, 3);
      expect(equalBytes(await echo(w, lone), lone)).toBe(true);
      const four = [250, 250, 250, 240].map((k, i) => pattern(k * KiB, 10 + i));
      const back = await w.call<{ list: Uint8Array[] }>("echo", { list: four });
      expect(back.list.map((b, i) => equalBytes(b, four[i]!))).toEqual([true, true, true, true]);
      expect(await w.call("echo", { ok: 1 })).toEqual({ ok: 1 });
    }));

  test("what the worker chooses to put in its ring always finds room, simulated from any position (test/python/shared_ring_test.py)", () => {
    expect(pythonTests("shared_ring_test.py")).toEqual({ status: 0, stderr: "" });
  });

  test("a stream's chunks and a pool's calls carry their bytes through the rings; 10 MB fits a ring of 16 MiB", async () => {
    await withWorker({ handler, ...quiet, sharedMemoryBytes: 16 * MiB }, async (w) => {
      const chunks: { n: number; data: Uint8Array }[] = [];
      for await (const chunk of w.stream<{ n: number; data: Uint8Array }>("byte_chunks", [1, 70_000, 200_000, 0, 90_000], { window: 2 })) chunks.push(chunk);
      expect(chunks.map((c) => [c.n, c.data.length, c.data.every((b) => b === c.n % 256)])).toEqual([[1, 1, true], [70_000, 70_000, true], [200_000, 200_000, true], [0, 0, true], [90_000, 90_000, true]]);
      const big = pattern(10 * 1000 * 1000, 11);
      expect(equalBytes(await echo(w, big), big)).toBe(true);
    });
    const pool = await createPool({ name: "rings", handler, size: 2, ...quiet, sharedMemoryBytes: MiB });
    try {
      const sent = Array.from({ length: 12 }, (_, i) => pattern(150 * KiB + i, 50 + i));
      const got = await Promise.all(sent.map((bytes) => pool.execute<{ data: Uint8Array }>("echo", { data: bytes })));
      expect(got.map((r, i) => equalBytes(r.data, sent[i]!))).toEqual(sent.map(() => true));
    } finally {
      await pool.stop();
    }
  }, 30_000);

  test("bytes longer than a ring go through the pipe", () =>
    withWorker({ handler, ...quiet, sharedMemoryBytes: 64 * KiB }, async (w) => {
      const sent = pattern(2 * MiB, 3);
      expect(equalBytes(await echo(w, sent), sent)).toBe(true);
      const fits = pattern(64 * KiB, 4);
      expect(equalBytes(await echo(w, fits), fits)).toBe(true);
    }));

  test.if(canShare)("memory the worker names that is not its rings (other bytes, another size, a closed descriptor) is not written: the pipes carry everything", async () => {
    for (const mode of ["magic", "size", "closed"]) {
      await withWorker({ handler, ...quiet, sharedMemoryBytes: MiB, env: { PYTHONPATH: fixture("foreign_rings"), MOLT_TEST_RINGS: mode } }, async (w) => {
        expect(w.hello.shared_memory).toEqual(mode === "closed" ? 999 : expect.any(Number));
        const sent = pattern(MiB, 5);
        expect(equalBytes(await echo(w, sent), sent)).toBe(true);
        // The memory the worker named (its rings with other bytes, or another memfd): the host never marked it mapped.
        if (mode !== "closed") expect(readFileSync(`/proc/${w.pid}/fd/${w.hello.shared_memory}`)[24]).toBe(0);
      });
    }
  });

  test("sharedMemoryBytes is 0 or 64 KiB to 1 GiB", async () => {
    for (const bad of [-1, 100, 2 ** 31, 1.5, "1MB"]) {
      const e = await rejection(spawnWorker({ handler, ...quiet, sharedMemoryBytes: bad as number }));
      expect([e._tag, e.message]).toEqual(["ConfigError", expect.stringContaining("sharedMemoryBytes must be 0, or an integer from 65536 (64 KiB) to 1073741824 (1 GiB)")]);
    }
  });
});
