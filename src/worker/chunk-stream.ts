/**
 * The consumer's side of a streamed call: an async iterator over the
 * chunks a handler yields, with a bounded buffer whose free room is granted
 * to the worker as credit (the worker stops reading the generator when the
 * host holds `window` chunks the consumer has not taken), and whose early
 * end (break, return, throw) aborts the call, which cancels it in Python.
 *
 * @module
 */
import { option, type Rule } from "../config.ts";


/** What the layer that runs the call (a worker, a pool, a router) needs of the stream. */
export interface ChunkSink {
  /** Chunks the host may hold before the consumer takes one: the worker's initial credit. */
  readonly window: number;
  /** Aborts when the consumer stops early. */
  readonly signal: AbortSignal;
  /** Whether any chunk has reached the consumer's buffer: a call that delivered one is never retried. */
  readonly delivered: boolean;
  /** A chunk arrived. */
  push(chunk: unknown): void;
  /** Where credit for chunks taken goes: the worker serving the call now (a retry rebinds it). */
  bindCredit(grant: (n: number) => void): void;
}

const MAX_WINDOW = 65_536;
const windowRule: Rule<number> = {
  is: (v): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= MAX_WINDOW,
  allowed: `an integer from 1 to ${MAX_WINDOW}`,
};

/** The `window` option of a stream, validated; default 16. */
export function streamWindow(owner: string, value: unknown): number {
  return option(owner, "window", value, windowRule, 16);
}

/** The caller's signal joined with the consumer's stop: either one aborts the call. */
export function withStop(signal: AbortSignal | undefined, sink: ChunkSink): AbortSignal {
  return signal === undefined ? sink.signal : AbortSignal.any([signal, sink.signal]);
}

/** Where a pool finds the stream a call feeds: on its options, under a key no caller can write. */
export const SINK: unique symbol = Symbol("molt.sink");

/** Options of a streamed call, besides the call's own. */
export interface StreamOptions {
  /** Chunks buffered on the host before the worker waits for the consumer. Default 16. */
  readonly window?: number;
}

/**
 * An async iterator over a streamed call's chunks; `run(sink)` starts the
 * call and settles when it ends (resolved: every chunk delivered; rejected:
 * the call's error, thrown to the consumer after the chunks before it).
 */
export class ChunkStream<T> implements AsyncIterableIterator<T> {
  private readonly buffer: unknown[] = [];
  private readonly controller = new AbortController();
  private waiting: { resolve: () => void } | null = null;
  private ended = false;
  private failure: { error: unknown } | null = null;
  private taken = 0;
  private grant: (n: number) => void = () => {};
  private started = false;

  constructor(private readonly window: number, private readonly run: (sink: ChunkSink) => Promise<unknown>) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<T>> {
    this.start();
    while (this.buffer.length === 0 && !this.ended) await new Promise<void>((resolve) => (this.waiting = { resolve }));
    if (this.buffer.length > 0) {
      const value = this.buffer.shift() as T;
      // Credit goes back in batches of half the window: one frame per several chunks.
      if (++this.taken >= Math.max(1, this.window >> 1)) {
        this.grant(this.taken);
        this.taken = 0;
      }
      return { value, done: false };
    }
    if (this.failure !== null) {
      const { error } = this.failure;
      this.failure = null;
      throw error;
    }
    return { value: undefined, done: true };
  }

  /** The consumer stopped early (`break` in `for await`): the call is aborted, and cancelled in Python. */
  return(): Promise<IteratorResult<T>> {
    this.finish(null);
    this.controller.abort();
    this.buffer.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(error?: unknown): Promise<IteratorResult<T>> {
    void this.return();
    return Promise.reject(error);
  }

  private start(): void {
    if (this.started) return;
    this.started = true;
    const stream = this;
    let delivered = false;
    const sink: ChunkSink = {
      window: this.window,
      signal: this.controller.signal,
      get delivered() {
        return delivered;
      },
      push(chunk) {
        if (stream.ended) return;
        delivered = true;
        stream.buffer.push(chunk);
        stream.wake();
      },
      bindCredit(grant) {
        stream.grant = grant;
      },
    };
    this.run(sink).then(() => this.finish(null), (error) => this.finish({ error }));
  }

  private finish(failure: { error: unknown } | null): void {
    if (this.ended) return;
    this.ended = true;
    this.failure = failure;
    this.wake();
  }

  private wake(): void {
    const w = this.waiting;
    this.waiting = null;
    w?.resolve();
  }
}
