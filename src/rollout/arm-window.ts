/**
 * What the monitor judges, read from a pool: its rolling window, its
 * workers, and the RSS history the controller keeps between judgements.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { totalmem } from "node:os";
import type { ArmWindow } from "../monitor/judge.ts";
import type { Pool } from "../pool/types.ts";

/** Linux's clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on every mainstream kernel). */
const TICKS_PER_SECOND = 100;
/** The shortest period CPU use is measured over. */
const CPU_PERIOD_S = 1;

/** CPU time (seconds) a process has used, from /proc; null where there is no /proc or the process is gone. */
function cpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime: fields 14 and 15 of the whole line, 12 and 13 after the command name.
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  } catch {
    return null;
  }
}

/** RSS samples kept per arm for the growth regression. */
const RSS_HISTORY = 120;

/** Reads one pool's window each judgement and keeps its call counter and RSS history. */
export class ArmReader {
  private lastCalls: number;
  private readonly rss: { at: number; bytes: number }[] = [];
  /** CPU seconds per pid at the last read, and when (wall clock: CPU time is real time, whatever the rollout's clock). */
  private cpu = new Map<number, number>();
  private cpuAt = performance.now();
  private cpuPercent: number | null = null;

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
        ...this.resources(m.workers.map((w) => w.pid), sampled.reduce((sum, w) => sum + (w.rssBytes ?? 0), 0), sampled.length > 0),
        calls: m.calls,
        errors: m.calls - m.outcomes.ok,
        p50Ms: m.latencyMs.p50,
        p90Ms: m.latencyMs.p90,
        p99Ms: m.latencyMs.p99,
        latencySample: m.latencySample,
        workers: Math.max(m.ready, 1),
        crashes: m.crashes,
        rss: [...this.rss],
      },
    };
  }

  /**
   * CPU use (%) of the arm's workers, averaged per worker (100 = one core
   * each, busy the whole time), over the last period of at least a second —
   * /proc counts in 10 ms ticks, too coarse for less — and their RSS as a
   * share of the machine's memory; null where not measurable.
   */
  private resources(pids: readonly number[], rssBytes: number, rssKnown: boolean): { cpuPercent: number | null; memoryPercent: number | null } {
    const memoryPercent = rssKnown ? (100 * rssBytes) / totalmem() : null;
    const now = performance.now();
    const seconds = (now - this.cpuAt) / 1000;
    if (seconds < CPU_PERIOD_S && this.cpu.size > 0) return { cpuPercent: this.cpuPercent, memoryPercent };
    const next = new Map<number, number>();
    let used = 0;
    let measured = 0;
    for (const pid of pids) {
      const total = cpuSeconds(pid);
      if (total === null) continue;
      next.set(pid, total);
      const before = this.cpu.get(pid);
      if (before !== undefined) (used += total - before, measured++);
    }
    this.cpu = next;
    this.cpuAt = now;
    this.cpuPercent = measured === 0 ? null : (100 * used) / seconds / measured;
    return { cpuPercent: this.cpuPercent, memoryPercent };
  }
}

/** A window for the decision log: everything but the latency sample, which is summarised by its size. */
export function forRecord(w: ArmWindow): Record<string, unknown> {
  const { latencySample, rss, ...rest } = w;
  return { ...rest, latencySampleSize: latencySample.length, rssSamples: rss.length };
}
