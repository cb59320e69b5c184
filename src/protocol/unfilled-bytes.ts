/**
 * A buffer for bytes about to be copied in whole (an attachment, a frame's
 * body): under Bun from `Bun.allocUnsafe`, without a pass that zeroes it
 * first (in a loop that keeps its last eight copies, a 1 MiB `slice()` of
 * the mapped ring took 158-374 µs, a zeroed Uint8Array and a copy 76-79 µs,
 * this 50 µs); elsewhere a plain `new Uint8Array`, which measured no slower
 * under Deno.
 *
 * @module
 */

type AllocUnsafe = (length: number) => Uint8Array;
const allocUnsafe = (globalThis as { Bun?: { allocUnsafe?: AllocUnsafe } }).Bun?.allocUnsafe;

/**
 * A plain Uint8Array of `length` bytes whose contents are not defined until
 * the caller has written every one of them.
 *
 * @example
 * ```ts
 * import { unfilledBytes } from "./unfilled-bytes.ts";
 * const bytes = unfilledBytes(3);
 * bytes.set([1, 2, 3]);
 * console.log(bytes); // Uint8Array(3) [ 1, 2, 3 ]
 * ```
 */
export function unfilledBytes(length: number): Uint8Array {
  return allocUnsafe === undefined ? new Uint8Array(length) : allocUnsafe(length);
}

/**
 * A copy of `view` in a plain Uint8Array of its own: what a caller keeps
 * of bytes that are only lent (a runtime's read buffer, the shared ring).
 *
 * @example
 * ```ts
 * import { ownedCopy } from "./unfilled-bytes.ts";
 * const lent = Uint8Array.of(1, 2, 3, 4);
 * const kept = ownedCopy(lent.subarray(1, 3));
 * lent.fill(0);
 * console.log(kept); // Uint8Array(2) [ 2, 3 ]
 * ```
 */
export function ownedCopy(view: Uint8Array): Uint8Array {
  const bytes = unfilledBytes(view.length);
  bytes.set(view);
  return bytes;
}
