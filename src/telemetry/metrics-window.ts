/**
 * Rolling metric windows: the numbers a pool reports and the monitor judges.
 * The window is cut into slices; recording touches only the newest slice
 * (counters and an HDR histogram), reading merges the slices still inside
 * the window, so old data leaves the window slice by slice.
 *
 * @module
 */
import * as hdr from "hdr-histogram-js";
import type { ErrorCategory } from "../resilience/classify.ts";
import type { CallOutcome } from "./events.ts";

/** Latency quantiles in milliseconds (microsecond resolution, 1% relative error). */
export interface LatencySummary {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Counts and latencies of the calls inside the window. */
export interface WindowTotals {
  /** Start of the oldest slice still counted (ms since the epoch). */
  readonly from: number;
  readonly to: number;
  readonly calls: number;
  readonly outcomes: Readonly<Record<CallOutcome, number>>;
  readonly categories: Readonly<Partial<Record<ErrorCategory, number>>>;
  /** Failed calls by their error's `_tag` ("PythonError", "WorkerTimeoutError", …). */
  readonly tags: Readonly<Record<string, number>>;
  readonly latencyMs: LatencySummary;
  /** Completed calls per second over the time the window covers. */
  readonly throughputPerS: number;
  readonly crashes: number;
  readonly restarts: number;
  /** A uniform sample of the window's latencies (ms), up to 128 per slice: what the monitor's quantile test reads. */
  readonly latencySample: readonly number[];
  /** Calls refused because the pool was saturated: its queue full, or their wait for a worker ran out. */
  readonly saturated: number;
  /** Calls that waited in the queue for a worker. */
  readonly queued: number;
  /** The 99th percentile of the time every call of the window spent waiting for a worker (0 when under 1% waited). */
  readonly queueWaitP99Ms: number;
}

/**
 * The calls of the whole slices that started in an interval, with their
 * latencies as an HDR histogram encoded so that histograms of several nodes
 * merge exactly: what a fleet node publishes for its arm each window.
 */
export interface IntervalTotals
  extends Pick<WindowTotals, "from" | "to" | "calls" | "outcomes" | "categories" | "tags" | "crashes" | "restarts" | "saturated" | "queued"> {
  /** Latencies in microseconds, `hdr.encodeIntoCompressedBase64`; "" when no call completed. */
  readonly latencyHistogram: string;
  /** Queue waits in microseconds, encoded the same way; "" when none waited. */
  readonly queueWaitHistogram: string;
  /** A uniform sample of the interval's latencies (ms), at most 128. */
  readonly latencySample: readonly number[];
}

/** Latencies kept per slice for the sample (reservoir sampling). */
const SAMPLE_PER_SLICE = 128;

interface Slice {
  start: number;
  readonly histogram: hdr.Histogram;
  readonly outcomes: Record<CallOutcome, number>;
  readonly categories: Partial<Record<ErrorCategory, number>>;
  readonly tags: Record<string, number>;
  crashes: number;
  restarts: number;
  readonly sample: number[];
  /** Latencies offered to the sample so far. */
  seen: number;
  saturated: number;
  /** Waits of the calls that queued; created by the first one (most slices have none). */
  queueWaits: hdr.Histogram | null;
}

const HOUR_US = 3_600_000_000;
/** A histogram of the kind every window records into (microseconds, up to an hour, 2 significant digits). */
export const newHistogram = (): hdr.Histogram =>
  hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: HOUR_US, numberOfSignificantValueDigits: 2, bitBucketSize: 32 });

const ms = (us: number): number => us / 1000;

/** The counters, histograms and samples of `slices`, added (what both a window and an interval are made of). */
function sumSlices(slices: readonly Slice[]) {
  const outcomes = emptyOutcomes();
  const categories: Partial<Record<ErrorCategory, number>> = {};
  const tags: Record<string, number> = {};
  const latencies = newHistogram();
  let waits: hdr.Histogram | null = null;
  let crashes = 0, restarts = 0, saturated = 0;
  const sample: number[] = [];
  for (const s of slices) {
    latencies.add(s.histogram);
    if (s.queueWaits !== null) (waits ??= newHistogram()).add(s.queueWaits);
    for (const k of Object.keys(outcomes) as CallOutcome[]) outcomes[k] += s.outcomes[k];
    for (const [k, v] of Object.entries(s.categories) as [ErrorCategory, number][]) categories[k] = (categories[k] ?? 0) + v;
    for (const [k, v] of Object.entries(s.tags)) tags[k] = (tags[k] ?? 0) + v;
    crashes += s.crashes;
    restarts += s.restarts;
    saturated += s.saturated;
    sample.push(...s.sample);
  }
  return { outcomes, categories, tags, crashes, restarts, saturated, latencies, waits: waits as hdr.Histogram | null, sample };
}

/** Quantiles of a histogram of microseconds, in milliseconds (zeros when empty). */
export function summarise(h: hdr.Histogram): LatencySummary {
  return h.totalCount === 0
    ? { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 }
    : { p50: ms(h.getValueAtPercentile(50)), p90: ms(h.getValueAtPercentile(90)), p99: ms(h.getValueAtPercentile(99)), max: ms(h.maxValue), mean: ms(h.mean) };
}

/**
 * The 99th percentile over every one of `calls` of the time spent waiting
 * for a worker, from the waits of those that queued: calls that never
 * queued waited 0, so it is the waits' quantile that leaves 1% of all calls
 * above it (0 when under 1% waited).
 */
export function queueWaitP99(waits: hdr.Histogram | null, calls: number): number {
  const queued = waits?.totalCount ?? 0;
  return waits === null || queued < 0.01 * calls ? 0 : ms(waits.getValueAtPercentile(100 * Math.max(0, 1 - (0.01 * calls) / queued)));
}

const emptyOutcomes = (): Record<CallOutcome, number> => ({ ok: 0, python_error: 0, failed: 0, rejected: 0 });

/**
 * A rolling window of call outcomes and latencies, cut into `slices`.
 *
 * @example
 * ```ts
 * import { MetricsWindow } from "molt";
 * let now = 0;
 * const w = new MetricsWindow({ windowMs: 60_000, slices: 6, now: () => now });
 * w.record("ok", null, 12.5);
 * w.record("python_error", "python", 3);
 * now = 1000;
 * console.log(w.totals().calls, w.totals().outcomes.python_error); // 2 1
 * ```
 */
export class MetricsWindow {
  private readonly sliceMs: number;
  private readonly slices: Slice[] = [];
  private readonly now: () => number;
  private readonly windowMs: number;
  private current: Slice;

  private readonly random: () => number;

  constructor(options: { readonly windowMs: number; readonly slices: number; readonly now?: () => number; readonly random?: () => number }) {
    this.windowMs = options.windowMs;
    this.sliceMs = options.windowMs / options.slices;
    this.now = options.now ?? Date.now;
    this.random = options.random ?? Math.random;
    // Slices start at multiples of their length, so every node's slices line up and an interval of whole slices means the same time everywhere.
    const now = this.now();
    this.current = this.openSlice(Math.floor(now / this.sliceMs) * this.sliceMs);
  }

  /** How long one slice is (ms): intervals read with `interval` are whole slices. */
  get sliceLengthMs(): number {
    return this.sliceMs;
  }

  /**
   * The totals of the slices that started in [from, to) and have ended by
   * now (and, with `open`, the slice under way: a last reading before
   * stopping); slices older than the window are gone.
   */
  interval(from: number, to: number, open = false): IntervalTotals {
    this.slice();
    const now = this.now();
    const chosen = this.slices.filter((s) => s.start >= from && s.start < to && (open || s.start + this.sliceMs <= now));
    const { outcomes, categories, tags, crashes, restarts, saturated, latencies, waits, sample: pool } = sumSlices(chosen);
    // Thin the slices' samples to one sample of the interval, each latency kept with the same chance.
    while (pool.length > SAMPLE_PER_SLICE) pool.splice(Math.floor(this.random() * pool.length), 1);
    const encode = (h: hdr.Histogram): string => (h.totalCount === 0 ? "" : hdr.encodeIntoCompressedBase64(h));
    const result: IntervalTotals = {
      from, to,
      calls: outcomes.ok + outcomes.python_error + outcomes.failed + outcomes.rejected,
      outcomes, categories, tags, crashes, restarts, saturated,
      queued: waits?.totalCount ?? 0,
      latencyHistogram: encode(latencies),
      queueWaitHistogram: waits === null ? "" : encode(waits),
      latencySample: pool,
    };
    latencies.destroy();
    waits?.destroy();
    return result;
  }

  /** Record one finished call; latency in milliseconds; `saturated` when the pool refused it for want of a worker; `tag` its error's. */
  record(outcome: CallOutcome, category: ErrorCategory | null, latencyMs: number, saturated = false, tag: string | null = null): void {
    const slice = this.slice();
    slice.outcomes[outcome]++;
    if (saturated) slice.saturated++;
    if (category !== null) slice.categories[category] = (slice.categories[category] ?? 0) + 1;
    if (tag !== null) slice.tags[tag] = (slice.tags[tag] ?? 0) + 1;
    if (outcome === "rejected") return;
    slice.histogram.recordValue(Math.max(1, Math.round(latencyMs * 1000)));
    // Reservoir sampling (Algorithm R): every latency of the slice is kept with the same chance.
    const seen = ++slice.seen;
    if (slice.sample.length < SAMPLE_PER_SLICE) slice.sample.push(latencyMs);
    else {
      const j = Math.floor(this.random() * seen);
      if (j < SAMPLE_PER_SLICE) slice.sample[j] = latencyMs;
    }
  }

  /** Record the time a call waited in the queue before a worker took it. */
  waited(ms: number): void {
    const slice = this.slice();
    slice.queueWaits ??= newHistogram();
    slice.queueWaits.recordValue(Math.max(1, Math.round(ms * 1000)));
  }

  /** Count a worker that died on its own. */
  crashed(): void {
    this.slice().crashes++;
  }

  /** Count a worker started to replace another. */
  restarted(): void {
    this.slice().restarts++;
  }

  /** Merge the slices inside the window. */
  totals(): WindowTotals {
    const now = this.now();
    this.slice();
    const { outcomes, categories, tags, crashes, restarts, saturated, latencies: merged, waits, sample: latencySample } = sumSlices(this.slices);
    const from = this.slices[0]!.start;
    const calls = outcomes.ok + outcomes.python_error + outcomes.failed + outcomes.rejected;
    const coveredS = Math.max(now - from, 1) / 1000;
    const latencyMs = summarise(merged);
    merged.destroy();
    const queued = waits?.totalCount ?? 0;
    const queueWaitP99Ms = queueWaitP99(waits, calls);
    waits?.destroy();
    return {
      from, to: now, calls, outcomes, categories, tags, latencyMs, throughputPerS: (calls - outcomes.rejected) / coveredS, crashes, restarts, latencySample,
      saturated, queued, queueWaitP99Ms,
    };
  }

  private slice(): Slice {
    const now = this.now();
    if (now - this.current.start < this.sliceMs) return this.current;
    const start = this.current.start + Math.floor((now - this.current.start) / this.sliceMs) * this.sliceMs;
    while (this.slices.length > 0 && this.slices[0]!.start <= start - this.windowMs) {
      const old = this.slices.shift()!;
      old.histogram.destroy();
      old.queueWaits?.destroy();
    }
    this.current = this.openSlice(start);
    return this.current;
  }

  private openSlice(start: number): Slice {
    const slice: Slice = { start, histogram: newHistogram(), outcomes: emptyOutcomes(), categories: {}, tags: {}, crashes: 0, restarts: 0, sample: [], seen: 0, saturated: 0, queueWaits: null };
    this.slices.push(slice);
    return slice;
  }
}
