/**
 * Entries with deadlines, keyed by id and kept in insertion order, with the
 * deadlines enforced by one timer for the whole table (a timer per call
 * costs as much as the rest of the call). The timer is re-armed only for an
 * earlier deadline; when it fires early it re-arms for the earliest left.
 * A worker keeps its calls in flight here; a pool keeps its queue here.
 *
 * @module
 */
import type { ChunkSink } from "./chunk-stream.ts";


/** What the table needs of an entry. */
export interface Deadlined {
  readonly id: number;
  readonly deadline: number;
  /** Detaches the caller's abort listener, if any. */
  release: (() => void) | undefined;
}

/** One call waiting for its answer. */
export interface PendingCall extends Deadlined {
  readonly command: string;
  readonly timeoutMs: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** A streamed call's consumer, and the chunks the worker may still send before it is given credit. */
  readonly sink?: ChunkSink;
  credit?: number;
}

/** Entries in insertion order, with one deadline timer. */
export class PendingTable<C extends Deadlined = PendingCall> {
  private readonly calls = new Map<number, C>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;

  constructor(
    private readonly now: () => number,
    private readonly onExpired: (call: C) => void,
  ) {}

  get size(): number {
    return this.calls.size;
  }

  add(call: C): void {
    this.calls.set(call.id, call);
    if (call.deadline < this.timerAt) this.arm(call.deadline);
  }

  /** The entry with this id, left in the table. */
  get(id: number): C | undefined {
    return this.calls.get(id);
  }

  /** Remove and return the call, releasing its abort listener. */
  take(id: number): C | undefined {
    const call = this.calls.get(id);
    if (call === undefined) return undefined;
    this.calls.delete(id);
    call.release?.();
    return call;
  }

  /** Remove every call (for exit), leaving no timer behind. */
  takeAll(): C[] {
    const all = [...this.calls.values()];
    this.calls.clear();
    for (const call of all) call.release?.();
    this.disarm();
    return all;
  }

  /** Remove and return the oldest entry that `accept` takes. */
  takeFirst(accept: (entry: C) => boolean): C | undefined {
    for (const entry of this.calls.values()) if (accept(entry)) return this.take(entry.id);
    return undefined;
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - this.now()));
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private expire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.now();
    let next = Infinity;
    for (const call of [...this.calls.values()]) {
      if (call.deadline <= now) {
        this.take(call.id);
        this.onExpired(call);
      } else if (call.deadline < next) {
        next = call.deadline;
      }
    }
    if (next !== Infinity && this.calls.size > 0) this.arm(next);
  }
}
