import { describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { Deframer, encodeFrame } from "../../mod.ts";
import { concat, partBytes, pythonTests, repoPath } from "../helpers.ts";
import spec from "../spec/protocol/frames.json" with { type: "json" };

type Item = { payload: string } | { oversize: number };

function split(stream: Uint8Array, how: string | number): Uint8Array[] {
  if (how === "whole") return [stream];
  const size = how === "bytes" ? 1 : (how as number);
  const out: Uint8Array[] = [];
  for (let i = 0; i < stream.length; i += size) out.push(stream.subarray(i, i + size));
  return out;
}

describe("frame vectors (TypeScript deframer)", () => {
  const decoder = new TextDecoder();
  for (const c of spec.cases) {
    for (const how of spec.splits) {
      test(`${c.name} [${how}]`, () => {
        const stream = concat(c.stream.map(partBytes));
        const expected = c.expect as Item[];
        const firstOversize = expected.findIndex((i) => "oversize" in i);
        const want = firstOversize === -1 ? expected : expected.slice(0, firstOversize);
        const refuses = firstOversize !== -1 || (c as { hostRefuses?: boolean }).hostRefuses === true;
        const deframer = new Deframer(c.maxFrameBytes ?? undefined);
        const got: Item[] = [];
        let error: unknown = null;
        try {
          for (const chunk of split(stream, how)) deframer.push(chunk, (p) => got.push({ payload: decoder.decode(p) }));
        } catch (e) {
          error = e;
        }
        expect(got).toEqual(want);
        if (refuses) {
          expect((error as { _tag: string; reason: string })._tag).toBe("ProtocolError");
          expect((error as { reason: string }).reason).toBe("frame_too_large");
          expect(() => deframer.push(new Uint8Array([0, 0, 0, 1, 49]), () => {})).toThrow(/frame_too_large/);
        } else {
          expect(error).toBeNull();
        }
      });
    }
  }
});

describe("encodeFrame", () => {
  test("round-trips through the deframer, small and large", () => {
    for (const text of ["{}", JSON.stringify({ s: "é世😀".repeat(10) }), JSON.stringify("y".repeat(100_000))]) {
      const got: string[] = [];
      new Deframer().push(encodeFrame(text), (p) => got.push(new TextDecoder().decode(p)));
      expect(got).toEqual([text]);
    }
  });

  test("refuses a frame over the maximum", () => {
    expect(() => encodeFrame(JSON.stringify("z".repeat(100)), 64)).toThrow(/over the maximum of 64 bytes/);
  });
});

test("the Python deframer gives back small, large and oversize frames whole and in order, however the stream is cut (test/python/framing_test.py)", () => {
  expect(pythonTests("framing_test.py")).toEqual({ status: 0, stderr: "" });
});

describe("Python vectors (python3 test/python/run_vectors.py)", async () => {
  const proc = spawnSync("python3", [repoPath("test/python/run_vectors.py")]);
  const output = proc.stdout.toString();
  test("the runner exits cleanly", () => {
    expect(proc.stderr.toString()).toBe("");
    expect(proc.status).toBe(0);
  });
  const { results } = JSON.parse(output) as { results: { file: string; name: string; ok: boolean; detail: unknown }[] };
  const expectedCount = spec.cases.length * spec.splits.length;
  test("covers every frame vector in every split", () => {
    expect(results.filter((r) => r.file === "frames.json").length).toBe(expectedCount);
  });
  for (const r of results) {
    test(`${r.file}: ${r.name}`, () => {
      expect(r.detail ?? null).toBeNull();
      expect(r.ok).toBe(true);
    });
  }
});
