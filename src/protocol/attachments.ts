/**
 * Binary attachments (protocol minor 3): each `Uint8Array` in a message's
 * args, result or chunk travels as a raw frame of its own right after the
 * JSON frame, which names it with a placeholder `{"$molt.bytes": i}` and
 * lists the attachments' lengths in `"attachments"`. Nothing is
 * base64-encoded, and a large payload is written as it is, never copied
 * into a JSON text.
 *
 * @module
 */
import { ProtocolError } from "../errors.ts";
import { checkedLength, writeHeader } from "./frame.ts";

/**
 * The key of a placeholder object, `{"$molt.bytes": <attachment index>}`:
 * reserved, so args may not use it as a key of their own.
 *
 * @example
 * ```ts
 * import { BYTES_KEY } from "./attachments.ts";
 * console.log(JSON.stringify({ [BYTES_KEY]: 0 })); // {"$molt.bytes":0}
 * ```
 */
export const BYTES_KEY = "$molt.bytes";

/**
 * Args that the call check found to hold bytes: the worker sends them with
 * attachments. Args without bytes are not wrapped and keep the plain
 * `JSON.stringify` path, so the common call pays nothing for this.
 *
 * @example
 * ```ts
 * import { BinaryArgs } from "./attachments.ts";
 * const args = new BinaryArgs({ image: new Uint8Array([1, 2]) });
 * console.log(args instanceof BinaryArgs, args.args); // true { image: Uint8Array(2) [1, 2] }
 * ```
 */
export class BinaryArgs {
  constructor(readonly args: unknown) {}
}

/** Attachments no longer than this are copied into a frame of their own (and joined with the frames around them); longer ones are written as they are. */
const COPY_BELOW_BYTES = 64 * 1024;

/**
 * `value` with each `Uint8Array` replaced by its placeholder, pushing the
 * bytes onto `attachments` in order. It reads values as `JSON.stringify`
 * would (a `toJSON` is honoured, undefined properties are left out), and
 * only values the call check accepted reach it. Containers are copied; the
 * caller's args are left as they were.
 *
 * @example
 * ```ts
 * import { withPlaceholders } from "./attachments.ts";
 * const found: Uint8Array[] = [];
 * console.log(JSON.stringify(withPlaceholders({ a: [new Uint8Array(3)], b: 1 }, found)), found.length); // {"a":[{"$molt.bytes":0}],"b":1} 1
 * ```
 */
export function withPlaceholders(value: unknown, attachments: Uint8Array[]): unknown {
  if (typeof value !== "object" || value === null) return value;
  // Before toJSON: a Node Buffer has one, which would turn its bytes into an array of numbers.
  if (value instanceof Uint8Array) return { [BYTES_KEY]: attachments.push(value) - 1 };
  if (Array.isArray(value)) return value.map((item) => withPlaceholders(item, attachments));
  const toJSON = (value as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === "function") return withPlaceholders(toJSON.call(value), attachments);
  // No prototype: an own "__proto__" key (JSON.parse makes them) stays a key, as JSON.stringify would send it.
  const out: Record<string, unknown> = Object.create(null);
  for (const [key, item] of Object.entries(value)) if (item !== undefined) out[key] = withPlaceholders(item, attachments);
  return out;
}

/**
 * The frames that follow a JSON frame announcing `attachments`: a small
 * attachment is copied into one frame (the caller may change its array as
 * soon as the call is made); a large one is its 4-byte header and then the
 * caller's bytes themselves, written without a copy. An attachment over
 * `maxFrameBytes` is a `ProtocolError` (`frame_too_large`), raised before
 * anything is written.
 *
 * @example
 * ```ts
 * import { attachmentFrames } from "./attachments.ts";
 * console.log(attachmentFrames([Uint8Array.of(7, 8)], 1024)); // [ Uint8Array(6) [0, 0, 0, 2, 7, 8] ]
 * ```
 */
export function attachmentFrames(attachments: readonly Uint8Array[], maxFrameBytes: number, inRing: readonly boolean[] = []): Uint8Array[] {
  for (const [i, bytes] of attachments.entries()) checkedLength(bytes.length, maxFrameBytes, `attachment ${i} (bytes in args)`);
  const frames: Uint8Array[] = [];
  for (const [i, bytes] of attachments.entries()) {
    // In the shared ring (src/worker/shared-ring.ts): no frame.
    if (inRing[i]) continue;
    if (bytes.length < COPY_BELOW_BYTES) {
      const frame = new Uint8Array(4 + bytes.length);
      writeHeader(frame, bytes.length);
      frame.set(bytes, 4);
      frames.push(frame);
    } else {
      const header = new Uint8Array(4);
      writeHeader(header, bytes.length);
      frames.push(header, bytes);
    }
  }
  return frames;
}

/**
 * The lengths a frame announces in `"attachments"`, or null when the field
 * is not a list of frame lengths: the frames after it cannot then be told
 * apart, and the stream is broken. A negative length `-n` is n bytes in the
 * shared ring, allowed only with one (`ringBytes`, its size; 0: none).
 *
 * @example
 * ```ts
 * import { announcedLengths } from "./attachments.ts";
 * console.log(announcedLengths([3, 0], 64), announcedLengths([3, "x"], 64), announcedLengths([-3], 64)); // [ 3, 0 ] null null
 * ```
 */
export function announcedLengths(field: unknown, maxFrameBytes: number, ringBytes = 0): readonly number[] | null {
  if (!Array.isArray(field)) return null;
  for (const length of field) {
    if (!Number.isInteger(length) || length > maxFrameBytes) return null;
    if (length < 0 && -length > Math.min(maxFrameBytes, ringBytes)) return null;
  }
  return field as number[];
}

/**
 * `value` (parsed JSON, changed in place) with each placeholder replaced by
 * its attachment. A placeholder whose index names no attachment is a
 * `ProtocolError` (`invalid_message`).
 *
 * @example
 * ```ts
 * import { fillPlaceholders } from "./attachments.ts";
 * console.log(fillPlaceholders({ data: { "$molt.bytes": 0 } }, [Uint8Array.of(1)])); // { data: Uint8Array(1) [1] }
 * ```
 */
export function fillPlaceholders(value: unknown, attachments: readonly Uint8Array[]): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = fillPlaceholders(value[i], attachments);
    return value;
  }
  const record = value as Record<string, unknown>;
  if (Object.hasOwn(record, BYTES_KEY)) {
    const index = record[BYTES_KEY];
    if (Number.isInteger(index) && (index as number) >= 0 && (index as number) < attachments.length) return attachments[index as number];
    throw new ProtocolError({
      reason: "invalid_message",
      detail: `placeholder ${JSON.stringify(record)} names no attachment (the frame has ${attachments.length})`,
    });
  }
  for (const key in record) {
    const item = record[key];
    const filled = fillPlaceholders(item, attachments);
    // Defined rather than assigned: an own "__proto__" key must stay a key.
    if (filled !== item) Object.defineProperty(record, key, { value: filled, writable: true, enumerable: true, configurable: true });
  }
  return record;
}
