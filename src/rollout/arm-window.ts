/**
 * What the monitor judges, read from a pool: its rolling window, its
 * workers, and the RSS history the controller keeps between judgements.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { totalmem } from "node:os";
import type { ArmWindow, ShadowWindow } from "../monitor/judge.ts";
import type { Pool, PoolMetrics } from "../pool/types.ts";
import type { Router } from "../routing/router.ts";

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

/** How the arm's sessions kept their workers since the last read (see PoolStats). */
export interface SessionCounts {
  readonly calls: number;
  readonly moved: number;
  readonly rebound: number;
}

/** One read of an arm. */
export interface ArmRead {
  readonly window: ArmWindow;
  /** Calls served since the last read. */
  readonly calls: number;
  readonly sessions: SessionCounts;
  /** The pool's counters at the read, where `accept` starts the next read. */
  readonly seen: { readonly calls: number; readonly sessions: SessionCounts };
  readonly affinity: Pool["affinity"];
  /** The breaker's state at the read; null without one. */
  readonly breaker: string | null;
}

/** Reads one pool's window each judgement and keeps its call counters and RSS history. */
export class ArmReader {
  private lastCalls: number;
  private lastSessions: SessionCounts;
  private rss: { at: number; bytes: number }[] = [];
  /** The workers the RSS history is of, and when they were last sampled. */
  private rssOf = "";
  private rssSampledAt: number | null = null;
  /** CPU seconds per pid at the last read, and when (wall clock: CPU time is real time, whatever the rollout's clock). */
  private cpu = new Map<number, number>();
  private cpuAt = performance.now();
  private cpuPercent: number | null = null;

  constructor(private readonly pool: Pool) {
    const s = pool.stats();
    this.lastCalls = s.calls;
    this.lastSessions = { calls: s.sessionCalls, moved: s.sessionsMoved, rebound: s.sessionsRebound };
  }

  /**
   * The window as the monitor sees it, the calls served since the last read
   * (for a stage's samples), how sessions kept their workers since then, and
   * the breaker's state now.
   */
  read(now: number): ArmRead {
    const m = this.pool.metrics();
    const stats = this.pool.stats();
    const calls = Math.max(0, stats.calls - this.lastCalls);
    const total = { calls: stats.sessionCalls, moved: stats.sessionsMoved, rebound: stats.sessionsRebound };
    const sessions = { calls: total.calls - this.lastSessions.calls, moved: total.moved - this.lastSessions.moved, rebound: total.rebound - this.lastSessions.rebound };

    const sampled = m.workers.filter((w) => w.rssBytes !== null);
    this.recordRss(now, m.workers, sampled);
    return {
      calls,
      sessions,
      seen: { calls: stats.calls, sessions: total },
      affinity: this.pool.affinity,
      breaker: m.breaker,
      window: {
        ...this.resources(m.workers.map((w) => w.pid), sampled.reduce((sum, w) => sum + (w.rssBytes ?? 0), 0), sampled.length > 0),
        calls: m.calls,
        errors: m.calls - m.outcomes.ok,
        windowS: Math.max(0, m.to - m.from) / 1000,
        saturated: m.saturated,
        queued: m.queued,
        queueWaitP99Ms: m.queueWaitP99Ms,
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

  /** The read's window was judged and counted: the next read starts after its calls (until then, a failed tick's calls count toward the next). */
  accept(read: ArmRead): void {
    this.lastCalls = read.seen.calls;
    this.lastSessions = read.seen.sessions;
  }

  /**
   * One point of total RSS per fresh sample: a repeated old sample would make
   * the growth interval look surer than it is. The series restarts when the
   * set of workers changes, since a sum over other processes is another series.
   */
  private recordRss(now: number, workers: PoolMetrics["workers"], sampled: PoolMetrics["workers"]): void {
    const of = workers.map((w) => w.pid).sort((a, b) => a - b).join(",");
    if (of !== this.rssOf) (this.rss = [], this.rssOf = of, this.rssSampledAt = null);
    if (sampled.length < workers.length || sampled.length === 0) return;
    const sampledAt = Math.max(...sampled.map((w) => w.rssSampledAt ?? 0));
    if (sampledAt === this.rssSampledAt) return;
    this.rssSampledAt = sampledAt;
    // When it was sampled, on the rollout's clock (which a test may drive): up to a sampling period ago.
    const at = now - Math.max(0, Date.now() - sampledAt);
    if (this.rss.length > 0 && at <= this.rss.at(-1)!.at) return;
    this.rss.push({ at, bytes: sampled.reduce((sum, w) => sum + (w.rssBytes ?? 0), 0) });
    if (this.rss.length > RSS_HISTORY) this.rss.shift();
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

/**
 * An arm's read for the decision log: its window but the latency sample
 * (summarised by its size) and the RSS series, with how its sessions kept
 * their workers and its breaker's state.
 */
export function forRecord(read: ArmRead): Record<string, unknown> {
  const { latencySample, rss, ...rest } = read.window;
  return { ...rest, latencySampleSize: latencySample.length, rssSamples: rss.length, sessions: read.sessions, affinity: read.affinity, breaker: read.breaker };
}

/** Both arms read for one judgement, and where they came from. */
export interface ArmsReading {
  readonly v1: ArmRead;
  readonly v2: ArmRead;
  readonly shadow: ShadowWindow | null;
  /** Recorded with the judgement: which nodes contributed, and an outlier among them (a fleet's reading); absent for one process. */
  readonly fleet?: Readonly<Record<string, unknown>>;
  /** A failing arm's outlier, told with the verdict's reasons; null when there is none. */
  readonly outlier?: string | null;
  /** The reading was judged and counted: the next one starts after its calls. */
  accept(): void;
}

/**
 * Where a rollout's judged windows come from: the pools of this process
 * (the default), or every node of a fleet through the store.
 */
export interface ArmSource {
  read(at: number): Promise<ArmsReading>;
}

/** The windows of the two pools in this process, and the router's shadow counts. */
export class LocalArms implements ArmSource {
  private readonly v1: ArmReader;
  private readonly v2: ArmReader;

  constructor(v1: Pool, v2: Pool, private readonly router: Router | undefined, private readonly noiseFloor: number) {
    this.v1 = new ArmReader(v1);
    this.v2 = new ArmReader(v2);
  }

  read(at: number): Promise<ArmsReading> {
    const a = this.v1.read(at);
    const b = this.v2.read(at);
    const totals = shadowTotals(this.router ?? null);
    const shadow: ShadowWindow | null = totals === null ? null : { ...totals, noiseFloor: this.noiseFloor };
    return Promise.resolve({ v1: a, v2: b, shadow, accept: () => (this.v1.accept(a), this.v2.accept(b)) });
  }
}

/** The router's shadow comparisons so far, over every command; null when it does not shadow. */
export function shadowTotals(router: Router | null): { compared: number; mismatched: number } | null {
  const stats = router?.stats().shadow;
  if (stats === undefined || stats === null) return null;
  let compared = 0;
  let mismatched = 0;
  for (const c of Object.values(stats)) (compared += c.matched + c.mismatched, mismatched += c.mismatched);
  return { compared, mismatched };
}
