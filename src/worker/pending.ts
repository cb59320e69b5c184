/**
 * The calls a worker has in flight, keyed by request id, with their
 * deadlines enforced by one timer for the whole table (a timer per call
 * costs as much as the rest of the call). The timer is re-armed only for an
 * earlier deadline; when it fires early it re-arms for the earliest left.
 *
 * @module
 */

/** One call waiting for its answer. */
export interface PendingCall {
  readonly id: number;
  readonly command: string;
  readonly deadline: number;
  readonly timeoutMs: number;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  /** Detaches the caller's abort listener, if any. */
  release: (() => void) | undefined;
}

/** Pending calls in insertion order, with one deadline timer. */
export class PendingTable {
  private readonly calls = new Map<number, PendingCall>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;

  constructor(
    private readonly now: () => number,
    private readonly onExpired: (call: PendingCall) => void,
  ) {}

  get size(): number {
    return this.calls.size;
  }

  add(call: PendingCall): void {
    this.calls.set(call.id, call);
    if (call.deadline < this.timerAt) this.arm(call.deadline);
  }

  /** Remove and return the call, releasing its abort listener. */
  take(id: number): PendingCall | undefined {
    const call = this.calls.get(id);
    if (call === undefined) return undefined;
    this.calls.delete(id);
    call.release?.();
    return call;
  }

  /** Remove every call (for exit), leaving no timer behind. */
  takeAll(): PendingCall[] {
    const all = [...this.calls.values()];
    this.calls.clear();
    for (const call of all) call.release?.();
    this.disarm();
    return all;
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
