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
/** A view of the scratch buffer for every length, made once: murmurhash reads `key.length`. */
const VIEWS: readonly Uint8Array[] = Array.from({ length: scratch.length + 1 }, (_, n) => scratch.subarray(0, n));

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
  // Up to 3 bytes per UTF-16 unit: a text this short always fits the scratch buffer.
  if (text.length * 3 <= scratch.length) return murmurhash.v3(VIEWS[encoder.encodeInto(text, scratch).written]!, seed);
  return murmurhash.v3(encoder.encode(text), seed);
}

/** The flag key (with its ":") last written at the start of the scratch buffer. */
let prefixKey: string | null = null;
let prefixBytes = 0;
let tail: Uint8Array = scratch;

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
  // The flag key rarely changes: its bytes stay in the buffer and only the sticky key is encoded.
  if (flagKey !== prefixKey) {
    if ((flagKey.length + 1) * 3 > scratch.length / 2) return toBucket(murmur3(`${flagKey}:${stickyKey}`));
    prefixBytes = encoder.encodeInto(`${flagKey}:`, scratch).written;
    tail = scratch.subarray(prefixBytes);
    prefixKey = flagKey;
  }
  if (stickyKey.length * 3 > tail.length) return toBucket(murmur3(`${flagKey}:${stickyKey}`));
  return toBucket(murmurhash.v3(VIEWS[prefixBytes + encoder.encodeInto(stickyKey, tail).written]!, 0));
}

function toBucket(hash: number): number {
  return Math.floor((hash * BUCKETS) / 2 ** 32);
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
