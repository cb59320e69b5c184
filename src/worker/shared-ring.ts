/**
 * Shared memory for large attachments (Bun on Linux): memory the worker
 * makes (a memfd, in no directory) and the host maps through
 * `/proc/<pid>/fd/<fd>`, holding two rings, one each way. An attachment in a ring is
 * announced in its frame's `"attachments"` as a negative length (`-n`: n
 * bytes in the ring) and sent through no pipe. The bytes cross the boundary
 * with one copy in and one copy out: no read per 64 KiB, no promise per
 * chunk, no pipe buffer (1.3-2.6x the pipes' throughput at 1 MB).
 *
 * Each ring has one producer and one consumer. Neither says where a piece
 * is: both place the next piece at the same position by the same rule (the
 * producer's next position, or the start of the ring when the piece would
 * not fit before its end), and both take pieces in the order of the frames
 * that announce them. The consumer says how far it has read in the
 * header, after copying, and the producer writes only where that leaves
 * room; positions count bytes since the start and never go back.
 *
 * Layout: bytes 0-7 how far the worker has read the host's ring, 8-15 how
 * far the host has read the worker's (unsigned little-endian), 16-23
 * "molt-rng" (written by the worker: the host writes nothing into memory of
 * another size or without them), byte 24 1 once the host has mapped it (the
 * worker puts nothing in its ring before), then the host's ring, then the
 * worker's, `capacity` bytes each.
 *
 * @module
 */
import { readlinkSync, statSync } from "node:fs";
import { ownedCopy } from "../protocol/unfilled-bytes.ts";

const HEADER_BYTES = 64;
const TO_WORKER_READ = 0;
const FROM_WORKER_READ = 8;
const MAGIC = 16;
const MAGIC_BYTES = new TextEncoder().encode("molt-rng");
const HOST_MAPPED = 24;
/** What /proc says a worker's rings are (molt/shared_ring.py names its memfd so). */
const MEMFD_NAME = "/memfd:molt-rings ";

/** Attachments shorter than this go through the pipe: a pipe write of them costs less than the rings' bookkeeping. */
export const SHARED_FROM_BYTES = 64 * 1024;

/**
 * Where the next piece of `length` bytes starts, from position `at` of a
 * ring of `capacity` bytes: at `at`, or at the ring's next start when it
 * would not fit before the end. The worker applies the same rule
 * (molt/shared_ring.py).
 *
 * @example
 * ```ts
 * import { placed } from "./shared-ring.ts";
 * console.log(placed(10, 4, 16), placed(14, 4, 16)); // 10 16
 * ```
 */
export function placed(at: number, length: number, capacity: number): number {
  const offset = at % capacity;
  return offset + length > capacity ? at + (capacity - offset) : at;
}

/**
 * Whether a piece placed at `start` (from writer position `written`) may be
 * written while the reader is at `readTo`: it must end before the first
 * unread byte comes round again, unless nothing is unread (the gap a piece
 * skipped at the end of the ring is not data).
 *
 * @example
 * ```ts
 * import { room } from "./shared-ring.ts";
 * console.log(room(16, 12, 4, 12, 16), room(16, 16, 10, 12, 16)); // true false
 * ```
 */
export function room(start: number, written: number, length: number, readTo: number, capacity: number): boolean {
  return readTo === written || start + length <= readTo + capacity;
}

interface BunMmap {
  mmap(path: string, options: { shared: boolean }): Uint8Array;
}

const bun = (globalThis as { Bun?: Partial<BunMmap> }).Bun;

/**
 * A worker's shared rings, mapped by the host. `attach` returns null where
 * there is no `Bun.mmap` (Deno, Node) or the memory the worker named cannot
 * be mapped or is not its rings: the pipes carry everything then.
 *
 * @example
 * ```ts
 * import { SharedRegion } from "./shared-ring.ts";
 * console.log(SharedRegion.attach(process.pid, 1_000_000, 1 << 20)); // null
 * ```
 */
export class SharedRegion {
  /** Whether this runtime can map the rings at all: a worker is asked to make them only then. */
  static readonly supported: boolean = typeof bun?.mmap === "function" && process.platform === "linux";

  private written = 0;
  private read = 0;
  private readonly view: DataView;

  private constructor(readonly capacity: number, private readonly map: Uint8Array) {
    this.view = new DataView(map.buffer, map.byteOffset, map.byteLength);
  }

  /**
   * The rings of `capacity` bytes that process `pid` made and keeps open as
   * its `fd`, mapped and marked as mapped; null when they cannot be.
   */
  static attach(pid: number, fd: number, capacity: number): SharedRegion | null {
    if (!SharedRegion.supported) return null;
    const path = `/proc/${pid}/fd/${fd}`;
    let map: Uint8Array;
    try {
      // Looked at before it is opened: opening whatever the descriptor names (a terminal, a pipe) could block or act.
      if (!readlinkSync(path).startsWith(MEMFD_NAME) || statSync(path).size !== HEADER_BYTES + 2 * capacity) return null;
      map = bun!.mmap!(path, { shared: true });
    } catch {
      return null;
    }
    const magic = map.subarray(MAGIC, MAGIC + MAGIC_BYTES.length);
    // Not mapped by a host yet: two hosts writing one ring would corrupt both.
    if (map.length !== HEADER_BYTES + 2 * capacity || !magic.every((b, i) => b === MAGIC_BYTES[i]) || map[HOST_MAPPED] !== 0) return null;
    map[HOST_MAPPED] = 1;
    return new SharedRegion(capacity, map);
  }

  /**
   * Which of the attachments of `lengths` go into the host's ring (those of
   * at least SHARED_FROM_BYTES that fit now, in order); nothing is written:
   * `write` copies them once the frame that announces them is made.
   */
  plan(lengths: readonly number[]): boolean[] {
    const readTo = Number(this.view.getBigUint64(TO_WORKER_READ, true));
    let at = this.written;
    return lengths.map((length) => {
      if (length < SHARED_FROM_BYTES || length > this.capacity) return false;
      const start = placed(at, length, this.capacity);
      if (!room(start, at, length, readTo, this.capacity)) return false;
      at = start + length;
      return true;
    });
  }

  /** Copy the `parts` that `plan` put in the ring, in order. */
  write(parts: readonly Uint8Array[], planned: readonly boolean[]): void {
    for (const [i, bytes] of parts.entries()) {
      if (!planned[i]) continue;
      const start = placed(this.written, bytes.length, this.capacity);
      this.map.set(bytes, HEADER_BYTES + (start % this.capacity));
      this.written = start + bytes.length;
    }
  }

  /** The next `length` bytes of the worker's ring, copied out; the room they took is the worker's again. */
  take(length: number): Uint8Array {
    const start = placed(this.read, length, this.capacity);
    const from = HEADER_BYTES + this.capacity + (start % this.capacity);
    const bytes = ownedCopy(this.map.subarray(from, from + length));
    this.read = start + length;
    this.view.setBigUint64(FROM_WORKER_READ, BigInt(this.read), true);
    return bytes;
  }
}
