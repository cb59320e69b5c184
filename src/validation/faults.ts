/**
 * The fault-recovery comparison: the same fault injected into each arm under
 * load, and what it cost — time until full capacity returned, time to the
 * first successful call after it, calls that failed, calls lost (which must
 * be none: every call settles), and calls that succeeded on a retry.
 *
 * Each arm gets a fresh pool per fault, started from its options with fault
 * injection on (MOLT_FAULT_INJECTION=1). A crash comes from outside
 * (SIGKILL); a hanging handler, corrupt output and memory from the built-in
 * `molt.inject`; a saturated queue from a burst of calls.
 *
 * @module
 */
import { refuser } from "../config.ts";
import { createPool } from "../pool/pool.ts";
import type { PoolOptions } from "../pool/options.ts";
import type { Pool } from "../pool/types.ts";

/** The faults, as the plan names them. */
export type FaultKind = "crash" | "hang" | "garbage" | "memory" | "saturation";

/**
 * Every fault, in order.
 *
 * @example
 * ```ts
 * import { FAULT_KINDS } from "molt";
 * console.log(FAULT_KINDS.length); // 5
 * ```
 */
export const FAULT_KINDS: readonly FaultKind[] = ["crash", "hang", "garbage", "memory", "saturation"];

/** Options of validateFaults. */
export interface FaultOptions {
  /** How to start V1 (a fresh pool per fault). */
  readonly v1: PoolOptions;
  /** How to start V2 (a fresh pool per fault). */
  readonly v2: PoolOptions;
  /** Faults to inject. Default: all of them. */
  readonly faults?: readonly FaultKind[];
  /** Concurrent callers during each run. Default 4. */
  readonly users?: number;
  /** How long each arm runs under load after the fault. Default 3000 ms. */
  readonly durationMs?: number;
  /** The call the load makes (half of them idempotent). Default `ping`. */
  readonly command?: string;
  readonly args?: unknown;
  /** Each call's deadline. Default 2000 ms. */
  readonly timeoutMs?: number;
}

/** What one fault cost one arm. */
export interface FaultResult {
  readonly calls: number;
  readonly failed: number;
  /** Calls that never settled: must be 0. */
  readonly lost: number;
  /** Calls the pool retried (safely) that then succeeded. */
  readonly retriedOk: number;
  /** From the fault until a call succeeded again; null if none did. */
  readonly firstSuccessMs: number | null;
  /** From the fault until the pool was back at full capacity; null if it was not within the run. */
  readonly recoveredMs: number | null;
}

/** The fault-recovery report. */
export interface FaultReport {
  readonly kind: "faults";
  readonly results: readonly { readonly fault: FaultKind; readonly v1: FaultResult; readonly v2: FaultResult }[];
  /** "pass" when no call was lost on V2 and V2 recovered from every fault V1 recovered from. */
  readonly verdict: "pass" | "fail";
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The pool options a fault needs on top of the arm's own. */
function forFault(o: PoolOptions, fault: FaultKind): PoolOptions {
  const enhanced = o.strategy !== "basic";
  return {
    ...o,
    env: { ...o.env, MOLT_FAULT_INJECTION: "1" },
    ...(fault === "memory" && enhanced ? { maxRssBytes: 150 << 20, sampleEveryMs: 50 } : {}),
    ...(fault === "saturation" && enhanced ? { maxQueue: 50 } : {}),
  };
}

/** Inject the fault. */
async function inject(pool: Pool, fault: FaultKind): Promise<void> {
  const victim = pool.metrics().workers[0]?.pid ?? null;
  if (fault === "crash" && victim !== null) process.kill(victim, "SIGKILL");
  // A handler that hangs past its call's deadline: the pool must give up on that worker and replace it.
  if (fault === "hang") await pool.execute("molt.inject", { kind: "hang", seconds: 60 }, { timeoutMs: 300 }).catch(() => {});
  if (fault === "garbage") await pool.execute("molt.inject", { kind: "garbage" }).catch(() => {});
  if (fault === "memory") await pool.execute("molt.inject", { kind: "memory", mb: 200 }).catch(() => {});
  if (fault === "saturation") {
    await Promise.allSettled(Array.from({ length: 400 }, () => pool.execute("ping", null, { timeoutMs: 500 })));
  }
}

async function runOne(options: PoolOptions, fault: FaultKind, o: Required<Pick<FaultOptions, "users" | "durationMs" | "command" | "timeoutMs">> & { args: unknown }): Promise<FaultResult> {
  const pool = await createPool(forFault(options, fault));
  const size = pool.metrics().size;
  let calls = 0;
  let failed = 0;
  let lastSuccess = 0;
  let running = true;
  const pending = new Set<Promise<unknown>>();
  const loops = Array.from({ length: o.users }, async (_, user) => {
    for (let i = 0; running; i++) {
      calls++;
      const call = pool.execute(o.command, o.args, { timeoutMs: o.timeoutMs, idempotent: i % 2 === 0, sessionId: `fault-${user}` })
        .then(() => void (lastSuccess = performance.now()), () => void failed++);
      pending.add(call);
      await call;
      pending.delete(call);
    }
  });
  await sleep(200);
  const retriesBefore = pool.stats().retries;
  const before = new Set(pool.metrics().workers.map((w) => w.pid));
  const t0 = performance.now();
  await inject(pool, fault);
  let recoveredMs: number | null = null;
  let firstSuccessMs: number | null = null;
  while (performance.now() - t0 < o.durationMs) {
    const m = pool.metrics();
    if (firstSuccessMs === null && lastSuccess > t0) firstSuccessMs = lastSuccess - t0;
    // Back at full capacity: for a broken worker, replaced and every worker ready again;
    // for a saturated queue, no more waiting than the load itself makes.
    const back = fault === "saturation"
      ? m.queueDepth <= o.users && m.ready >= size
      : m.workers.some((w) => !before.has(w.pid)) && m.ready >= size;
    if (recoveredMs === null && back) recoveredMs = performance.now() - t0;
    await sleep(10);
  }
  running = false;
  // Every call has a deadline: whatever has not settled a second past it is lost.
  const settled = await Promise.race([Promise.all(loops).then(() => true), sleep(o.timeoutMs + 1000).then(() => false)]);
  const lost = settled ? 0 : pending.size;
  const retriedOk = Math.max(0, pool.stats().retries - retriesBefore);
  await pool.stop();
  return { calls, failed, lost, retriedOk, firstSuccessMs, recoveredMs };
}

/**
 * Inject each fault into each arm under load and compare what it cost.
 *
 * @example
 * ```ts
 * import { validateFaults } from "molt";
 * const handler = "./test/fixtures/echo_handler.py";
 * const report = await validateFaults({ v1: { name: "v1", strategy: "basic", handler, size: 2 }, v2: { name: "v2", handler, size: 2 }, faults: ["crash"], durationMs: 1500 });
 * console.log(report.results[0]?.v2.lost, report.results[0]?.v2.recoveredMs !== null); // 0 true
 * ```
 */
export async function validateFaults(options: FaultOptions): Promise<FaultReport> {
  const faults = options.faults ?? FAULT_KINDS;
  const bad = refuser("validate.faults");
  if (!Array.isArray(faults) || faults.some((f) => !FAULT_KINDS.includes(f))) bad("faults", faults, `an array of ${FAULT_KINDS.join(", ")}`);
  const o = {
    users: options.users ?? 4,
    durationMs: options.durationMs ?? 3000,
    command: options.command ?? "ping",
    args: options.args ?? null,
    timeoutMs: options.timeoutMs ?? 2000,
  };
  if (!Number.isInteger(o.users) || o.users <= 0) bad("users", o.users, "a positive integer");
  if (!Number.isInteger(o.durationMs) || o.durationMs <= 0) bad("durationMs", o.durationMs, "a positive integer");
  const results: FaultReport["results"][number][] = [];
  for (const fault of faults) {
    const v1 = await runOne(options.v1, fault, o);
    const v2 = await runOne(options.v2, fault, o);
    results.push({ fault, v1, v2 });
  }
  const worse = results.some((r) => r.v2.lost > 0 || (r.v1.recoveredMs !== null && r.v2.recoveredMs === null));
  return { kind: "faults", results, verdict: worse ? "fail" : "pass" };
}
