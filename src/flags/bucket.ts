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

/**
 * The flag whose key salts the V2 bucket.
 *
 * @example
 * ```ts
 * import { SHARE_FLAG } from "molt";
 * console.log(SHARE_FLAG); // pool_v2_share
 * ```
 */
export const SHARE_FLAG = "pool_v2_share";

/**
 * Buckets (and basis points) in the whole.
 *
 * @example
 * ```ts
 * import { BUCKETS } from "molt";
 * console.log(BUCKETS); // 10000
 * ```
 */
export const BUCKETS = 10_000;

const encoder = new TextEncoder();

/** A reused buffer with a view of it for every length, made once (murmurhash reads `key.length`). */
function scratchBuffer(bytes: number): { readonly buffer: Uint8Array; readonly views: readonly Uint8Array[] } {
  const buffer = new Uint8Array(bytes);
  return { buffer, views: Array.from({ length: bytes + 1 }, (_, n) => buffer.subarray(0, n)) };
}

// Two buffers: bucketOf keeps its flag key's bytes at the start of its own between calls,
// so no other hash may write there.
const text = scratchBuffer(1024);
const keys = scratchBuffer(1024);

/**
 * MurmurHash3 x86_32 of the UTF-8 bytes of `input`.
 *
 * @example
 * ```ts
 * import { murmur3 } from "molt";
 * console.log(murmur3("Hello, world!", 0x9747b28c).toString(16)); // 24884cba
 * ```
 */
export function murmur3(input: string, seed = 0): number {
  // Up to 3 bytes per UTF-16 unit: a text this short always fits the buffer.
  if (input.length * 3 <= text.buffer.length) return murmurhash.v3(text.views[encoder.encodeInto(input, text.buffer).written]!, seed);
  return murmurhash.v3(encoder.encode(input), seed);
}

/** The flag key (with its ":") last written at the start of the key buffer. */
let prefixKey: string | null = null;
let prefixBytes = 0;
let tail: Uint8Array = keys.buffer;

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
    if ((flagKey.length + 1) * 3 > keys.buffer.length / 2) return toBucket(murmur3(`${flagKey}:${stickyKey}`));
    prefixBytes = encoder.encodeInto(`${flagKey}:`, keys.buffer).written;
    tail = keys.buffer.subarray(prefixBytes);
    prefixKey = flagKey;
  }
  if (stickyKey.length * 3 > tail.length) return toBucket(murmur3(`${flagKey}:${stickyKey}`));
  return toBucket(murmurhash.v3(keys.views[prefixBytes + encoder.encodeInto(stickyKey, tail).written]!, 0));
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
