/**
 * What a fleet node writes to `pool_metrics` for each arm each window: the
 * calls of the whole slices of that window (errors by category, latencies as
 * an exactly mergeable HDR histogram, queue waits, saturation, crashes),
 * its workers' CPU and RSS, its sessions and breaker, and for V2 the shadow
 * comparisons it made. Windows are aligned on the epoch, so the windows of
 * every node cover the same times.
 *
 * @module
 */
import type { Pool } from "../pool/types.ts";
import { ArmReader, shadowTotals } from "../rollout/arm-window.ts";
import type { CallerOutcomes, Router } from "../routing/router.ts";
import type { IntervalTotals } from "../telemetry/metrics-window.ts";

/** One node's window of one arm, as stored in `pool_metrics.metrics`. */
export interface NodeWindow extends IntervalTotals {
  /** The rollout it was served for. */
  readonly target: string;
  /** Which arm the pool is (absent from rows written before it was recorded). */
  readonly arm?: "v1" | "v2";
  readonly workers: number;
  readonly cpuPercent: number | null;
  readonly memoryPercent: number | null;
  /** The arm's total RSS samples taken in the window, and which workers they are of (a new set starts a new series). */
  readonly rss: readonly { readonly at: number; readonly bytes: number }[];
  readonly rssOf: string;
  readonly sessions: { readonly calls: number; readonly moved: number; readonly rebound: number };
  readonly affinity: string;
  readonly breaker: string | null;
  /** Shadow comparisons made in the window (V2's row only), or null. */
  readonly shadow: { readonly compared: number; readonly mismatched: number } | null;
  /** Calls bound for V2 that V1 served in the window because V2 could not take them (V2's row only; absent from rows written before it was counted). */
  readonly fallbacks?: number | null;
  /** What the router's callers got from this arm in the window (its calls above hold shadow calls too); null without a router, absent from rows written before it was counted. */
  readonly callers?: CallerOutcomes | null;
}

/** Cuts one arm's windows for a node. */
export class NodeWindowCutter {
  private readonly reader: ArmReader;
  private shadowSeen = { compared: 0, mismatched: 0 };
  private fallbacksSeen = 0;
  private callersSeen: CallerOutcomes;

  /** Shadow comparisons and fallbacks are the router's and go in V2's row only. */
  private readonly v2Router: Router | null;

  constructor(private readonly pool: Pool, private readonly arm: "v1" | "v2", private readonly target: string, private readonly router: Router | null) {
    this.reader = new ArmReader(pool);
    this.v2Router = arm === "v2" ? router : null;
    this.shadowSeen = shadowTotals(this.v2Router) ?? this.shadowSeen;
    this.fallbacksSeen = this.v2Router?.stats().fallbacks ?? 0;
    this.callersSeen = this.router?.stats().callers[arm] ?? { calls: 0, failed: 0, tags: {} };
  }

  /** The window [from, to): call when it has ended (or, with `open`, to take what the slice under way holds too). */
  cut(from: number, to: number, open = false): NodeWindow {
    const totals = this.pool.interval(from, to, open);
    const read = this.reader.read(Date.now());
    this.reader.accept(read);
    const shadowNow = shadowTotals(this.v2Router);
    const shadow = shadowNow === null
      ? null
      : { compared: shadowNow.compared - this.shadowSeen.compared, mismatched: shadowNow.mismatched - this.shadowSeen.mismatched };
    if (shadowNow !== null) this.shadowSeen = shadowNow;
    const fallbacksNow = this.v2Router?.stats().fallbacks ?? null;
    const fallbacks = fallbacksNow === null ? null : fallbacksNow - this.fallbacksSeen;
    if (fallbacksNow !== null) this.fallbacksSeen = fallbacksNow;
    // Callers' outcomes are counted when the window is cut, not by slice: a cut made late holds what settled until then.
    const callersNow = this.router?.stats().callers[this.arm] ?? null;
    const callers = callersNow === null ? null : since(callersNow, this.callersSeen);
    if (callersNow !== null) this.callersSeen = callersNow;
    const pids = this.pool.metrics().workers.map((w) => w.pid).sort((a, b) => a - b).join(",");
    return {
      ...totals,
      target: this.target,
      arm: this.arm,
      workers: read.window.workers,
      cpuPercent: read.window.cpuPercent,
      memoryPercent: read.window.memoryPercent,
      rss: read.window.rss.filter((p) => p.at >= from && p.at < to),
      rssOf: pids,
      sessions: read.sessions,
      affinity: read.affinity,
      breaker: read.breaker,
      shadow,
      fallbacks,
      callers,
    };
  }
}

/** Outcomes counted since `seen`. */
function since(now: CallerOutcomes, seen: CallerOutcomes): CallerOutcomes {
  const tags: Record<string, number> = {};
  for (const [tag, n] of Object.entries(now.tags)) if (n > (seen.tags[tag] ?? 0)) tags[tag] = n - (seen.tags[tag] ?? 0);
  return { calls: now.calls - seen.calls, failed: now.failed - seen.failed, tags };
}
