/**
 * Bucketing: MurmurHash3 reference vectors (with non-ASCII input), sticky
 * buckets, monotone shares, an even spread over 100,000 keys, and the same
 * buckets from the Python package for 10,000 keys.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { bucketOf, inShare, murmur3 } from "../../mod.ts";
import { lcg, repoPath, spawnChild } from "../helpers.ts";

const spec = JSON.parse(readFileSync(repoPath("test/spec/bucket/murmur3.json"), "utf8")) as {
  vectors: { text: string; seed: number; hash: string }[];
};


const ALPHABET = ["a", "Z", "7", "-", "_", " ", "é", "ß", "π", "中", "文", "😀", "🚀", "\u0000"];

/** Distinct keys of every shape: uuids, and text of up to 40 characters (some of 4 UTF-8 bytes) numbered to be unique. */
function keys(n: number, seed: number): string[] {
  const random = lcg(seed);
  return Array.from({ length: n }, (_, i) => {
    if (i % 3 === 0) return crypto.randomUUID();
    const length = Math.floor(random() * 40);
    return Array.from({ length }, () => ALPHABET[Math.floor(random() * ALPHABET.length)]).join("") + i;
  });
}

describe("bucketing", () => {
  test("MurmurHash3 x86_32 reference vectors pass, including non-ASCII input", () => {
    for (const v of spec.vectors) expect([v.text, murmur3(v.text, v.seed).toString(16).padStart(8, "0")]).toEqual([v.text, v.hash]);
  });

  test("bucketOf is (murmur3(flagKey + ':' + key) * 10000) >>> 32 for any flag key, switching flags and long keys included", () => {
    const reference = (flag: string, key: string): number => Math.floor((murmur3(`${flag}:${key}`) * 10_000) / 2 ** 32);
    const flags = ["pool_v2_share", "other", "ü".repeat(100), "f".repeat(400), ""];
    const sample = [...keys(300, 5), "π".repeat(400), "x".repeat(1100)];
    for (const key of sample) for (const flag of flags) expect([flag, key, bucketOf(flag, key)]).toEqual([flag, key, reference(flag, key)]);
  });

  test("hashing other text between two buckets of the same flag does not disturb the second", () => {
    const expected = Math.floor((murmur3("pool_v2_share:user-2") * 10_000) / 2 ** 32);
    bucketOf("pool_v2_share", "user-1");
    murmur3("a text long enough to overwrite the start of any shared buffer");
    expect(bucketOf("pool_v2_share", "user-2")).toBe(expected);
  });

  test("a key longer than the scratch buffer hashes like the same bytes would", () => {
    const long = "π".repeat(2000);
    expect(murmur3(long)).toBe(murmur3(long.slice(0, 1000) + long.slice(1000)));
    expect(bucketOf("f", long)).toBe(bucketOf("f", long));
  });

  test("property: the same key always lands in the same bucket, within 0..9999", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), fc.string(), (key, flag) => {
      const b = bucketOf(flag, key);
      return b === bucketOf(flag, key) && Number.isInteger(b) && b >= 0 && b < 10_000;
    }), { numRuns: 2000 });
  });

  test("property: raising the share never moves a key from V2 back to V1", () => {
    fc.assert(fc.property(fc.string({ unit: "binary" }), fc.integer({ min: 0, max: 10_000 }), fc.integer({ min: 0, max: 10_000 }), (key, a, b) => {
      const [low, high] = a <= b ? [a, b] : [b, a];
      return !inShare("pool_v2_share", key, low) || inShare("pool_v2_share", key, high);
    }), { numRuns: 5000 });
  });

  test("over 100,000 random keys the V2 share is within 0.5 percentage points of the setting", () => {
    const sample = keys(100_000, 11);
    const buckets = sample.map((k) => bucketOf("pool_v2_share", k));
    for (const shareBp of [0, 100, 500, 1000, 2500, 5000, 7500, 10_000]) {
      const share = buckets.filter((b) => b < shareBp).length / buckets.length;
      expect(Math.abs(share * 100 - shareBp / 100)).toBeLessThan(0.5);
    }
  });

  test("the Python package agrees on the vectors and on the buckets of 10,000 keys", async () => {
    const sample = keys(10_000, 23);
    const script = [
      "import json, sys",
      "sys.path.insert(0, 'src/python')",
      "from molt.bucket import bucket, murmur3_32",
      "data = json.load(sys.stdin)",
      "hashes = ['%08x' % murmur3_32(v['text'].encode('utf-8'), v['seed']) for v in data['vectors']]",
      "json.dump({'hashes': hashes, 'buckets': [bucket('pool_v2_share', k) for k in data['keys']]}, sys.stdout)",
    ].join("\n");
    const child = spawnChild(["python3", "-c", script], { cwd: repoPath(""), stdin: "pipe", stderr: "pipe" });
    child.stdin!.write(JSON.stringify({ vectors: spec.vectors, keys: sample }));
    await child.stdin!.end();
    const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text()]);
    expect({ code: await child.exited, err }).toEqual({ code: 0, err: "" });
    const python = JSON.parse(out) as { hashes: string[]; buckets: number[] };
    expect(python.hashes).toEqual(spec.vectors.map((v) => v.hash));
    const ours = sample.map((k) => bucketOf("pool_v2_share", k));
    const differ = ours.flatMap((b, i) => (b === python.buckets[i] ? [] : [{ key: sample[i], ours: b, python: python.buckets[i] }]));
    expect(differ).toEqual([]);
  }, 30_000);
});
