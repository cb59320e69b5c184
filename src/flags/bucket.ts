/**
 * Sticky bucketing: MurmurHash3 x86_32 (seed 0) over the UTF-8 bytes of
 * `flagKey + ":" + stickyKey`, mapped to a bucket 0–9999 with
 * `(hash * 10000) >>> 32` — no modulo bias, exact in a double since
 * hash × 10000 < 2^46. A key is in the V2 arm when its bucket is below the
 * share in basis points, so raising the share never moves a key back to V1.
 * The Python package has the same function (`molt.bucket`).
 *
 * @module
 */
import murmurhash from "murmurhash";

/** The flag whose key salts the V2 bucket. */
export const SHARE_FLAG = "pool_v2_share";

/** Buckets (and basis points) in the whole. */
export const BUCKETS = 10_000;

const encoder = new TextEncoder();
/** Reused for every key that fits, so a hash allocates no buffer of its own. */
const scratch = new Uint8Array(1024);

/**
 * MurmurHash3 x86_32 of the UTF-8 bytes of `text`.
 *
 * @example
 * ```ts
 * import { murmur3 } from "molt";
 * console.log(murmur3("Hello, world!", 0x9747b28c).toString(16)); // 24884cba
 * ```
 */
export function murmur3(text: string, seed = 0): number {
  // Up to 3 bytes per UTF-16 unit: a key this short always fits the scratch buffer.
  if (text.length * 3 <= scratch.length) {
    const { written } = encoder.encodeInto(text, scratch);
    return murmurhash.v3(scratch.subarray(0, written), seed);
  }
  return murmurhash.v3(encoder.encode(text), seed);
}

/**
 * The bucket (0–9999) of `stickyKey` for `flagKey`.
 *
 * @example
 * ```ts
 * import { bucketOf } from "molt";
 * const b = bucketOf("pool_v2_share", "session-42");
 * console.log(b === bucketOf("pool_v2_share", "session-42"), b >= 0 && b < 10000); // true true
 * ```
 */
export function bucketOf(flagKey: string, stickyKey: string): number {
  return Math.floor((murmur3(`${flagKey}:${stickyKey}`) * BUCKETS) / 2 ** 32);
}

/**
 * True when `stickyKey` falls inside a share of `shareBp` basis points.
 *
 * @example
 * ```ts
 * import { inShare } from "molt";
 * console.log(inShare("pool_v2_share", "user-7", 0), inShare("pool_v2_share", "user-7", 10000)); // false true
 * ```
 */
export function inShare(flagKey: string, stickyKey: string, shareBp: number): boolean {
  return shareBp > 0 && (shareBp >= BUCKETS || bucketOf(flagKey, stickyKey) < shareBp);
}
