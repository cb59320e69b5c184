/**
 * What the monitor judges, read from a pool: its rolling window, its
 * workers, and the RSS history the controller keeps between judgements.
 *
 * @module
 */
import type { ArmWindow } from "../monitor/judge.ts";
import type { Pool } from "../pool/types.ts";

/** RSS samples kept per arm for the growth regression. */
const RSS_HISTORY = 120;

/** Reads one pool's window each judgement and keeps its call counter and RSS history. */
export class ArmReader {
  private lastCalls: number;
  private readonly rss: { at: number; bytes: number }[] = [];

  constructor(private readonly pool: Pool) {
    this.lastCalls = pool.stats().calls;
  }

  /** The window as the monitor sees it, and the calls served since the last read (for a stage's samples). */
  read(now: number): { window: ArmWindow; calls: number } {
    const m = this.pool.metrics();
    const total = this.pool.stats().calls;
    const calls = Math.max(0, total - this.lastCalls);
    this.lastCalls = total;
    const sampled = m.workers.filter((w) => w.rssBytes !== null);
    if (sampled.length > 0) {
      this.rss.push({ at: now, bytes: sampled.reduce((sum, w) => sum + (w.rssBytes ?? 0), 0) });
      if (this.rss.length > RSS_HISTORY) this.rss.shift();
    }
    return {
      calls,
      window: {
        calls: m.calls,
        errors: m.calls - m.outcomes.ok,
        p50Ms: m.latencyMs.p50,
        p90Ms: m.latencyMs.p90,
        p99Ms: m.latencyMs.p99,
        latencySample: m.latencySample,
        workers: Math.max(m.ready, 1),
        crashes: m.crashes,
        cpuPercent: null,
        memoryPercent: null,
        rss: [...this.rss],
      },
    };
  }
}

/** A window for the decision log: everything but the latency sample, which is summarised by its size. */
export function forRecord(w: ArmWindow): Record<string, unknown> {
  const { latencySample, rss, ...rest } = w;
  return { ...rest, latencySampleSize: latencySample.length, rssSamples: rss.length };
}
