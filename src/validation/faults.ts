/**
 * The fault-recovery comparison: the same fault injected into each arm under
 * load, and what it cost — time until full capacity returned, time to the
 * first successful call after it, calls that failed, calls lost (which must
 * be none: every call settles), and calls that succeeded on a retry. Lost
 * calls are counted here, from the calls issued against the calls settled,
 * not taken from the pool's own counters.
 *
 * Each arm gets a fresh pool per fault, started from its options with fault
 * injection on (MOLT_FAULT_INJECTION=1). A crash comes from outside
 * (SIGKILL); a hanging handler, corrupt output and memory from the built-in
 * `molt.inject`; a saturated queue from a burst of calls.
 *
 * @module
 */
import { positiveDuration, refuser } from "../config.ts";
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
  /** How long each arm runs under load after the fault. Default 4000 ms: enough for a hung worker to be given up on (the 300 ms deadline and the default 2000 ms cancel grace) and replaced. */
  readonly durationMs?: number;
  /** The call the load makes (half of them idempotent). Default `ping`. */
  readonly command?: string;
  readonly args?: unknown;
  /** Each call's deadline. Default 2000 ms. */
  readonly timeoutMs?: number;
  /** V2 may be this much slower to recover, and fail this much more, than V1 (a share of V1's value) before it fails. Default 0.5. */
  readonly tolerance?: number;
  /** ...plus this many milliseconds of recovery time: scheduling noise on a busy machine. Default 250. */
  readonly recoveryFloorMs?: number;
  /** ...plus this many failed calls. Default 5. */
  readonly failedFloor?: number;
  /** Load calls each arm must make per fault before the comparison can pass; fewer is "insufficient". Default 20. */
  readonly minCalls?: number;
}

/** What one fault cost one arm. */
export interface FaultResult {
  /** Load calls made (the injection's own calls are not counted here, but are in `lost`). */
  readonly calls: number;
  readonly failed: number;
  /** Load calls that succeeded before the fault. */
  readonly okBefore: number;
  /** Calls issued (load and injection) that had not settled a second past their deadline: must be 0. */
  readonly lost: number;
  /** Calls the pool retried (safely) that then succeeded. */
  readonly retriedOk: number;
  /** From the fault until a call succeeded again; null if none did. */
  readonly firstSuccessMs: number | null;
  /** From the fault until the pool was back at full capacity; null if it was not within the run. */
  readonly recoveredMs: number | null;
}

/** What one fault cost both arms. */
export interface FaultRun {
  readonly fault: FaultKind;
  readonly v1: FaultResult;
  readonly v2: FaultResult;
}

/** The fault-recovery report. */
export interface FaultReport {
  readonly kind: "faults";
  readonly results: readonly FaultRun[];
  /**
   * "fail": a call was lost on either arm, an arm served nothing before the
   * fault, V2 did not recover (full capacity and a success) within the run,
   * or V2 recovered slower or failed more calls than V1 beyond the
   * tolerance and its floor; "insufficient": none of these, but an arm made
   * fewer than `minCalls` calls; "pass": otherwise.
   */
  readonly verdict: "pass" | "fail" | "insufficient";
  /** Why the verdict is not "pass", one line each. */
  readonly reasons: readonly string[];
}

/** The limits a fault run is judged by. */
export interface FaultLimits {
  readonly tolerance: number;
  readonly recoveryFloorMs: number;
  readonly failedFloor: number;
  readonly minCalls: number;
}

/**
 * The verdict over fault runs: pure, so every way it can fail is tested on
 * made-up results.
 *
 * @example
 * ```ts
 * import { faultVerdict } from "molt";
 * const arm = { calls: 500, failed: 1, okBefore: 40, lost: 0, retriedOk: 0, firstSuccessMs: 10, recoveredMs: 300 };
 * const limits = { tolerance: 0.5, recoveryFloorMs: 250, failedFloor: 5, minCalls: 20 };
 * console.log(faultVerdict([{ fault: "crash", v1: arm, v2: { ...arm, recoveredMs: 1200 } }], limits).reasons);
 * // [ "crash: V2 back to full capacity in 1200 ms, V1 in 300 ms: slower than V1 × 1.5 + 250 ms" ]
 * ```
 */
export function faultVerdict(runs: readonly FaultRun[], limits: FaultLimits): { verdict: FaultReport["verdict"]; reasons: string[] } {
  const failures: string[] = [];
  const gaps: string[] = [];
  const beyond = (v1: number, v2: number, floor: number): boolean => v2 > v1 * (1 + limits.tolerance) + floor;
  const rule = `V1 × ${1 + limits.tolerance}`;
  for (const { fault, v1, v2 } of runs) {
    for (const [arm, r] of [["V1", v1], ["V2", v2]] as const) {
      if (r.lost > 0) failures.push(`${fault}: ${r.lost} calls on ${arm} never settled`);
      if (r.okBefore === 0) failures.push(`${fault}: no call succeeded on ${arm} before the fault: the load cannot run there (check the command and its args)`);
      if (r.calls < limits.minCalls) gaps.push(`${fault}: ${arm} made ${r.calls} calls, fewer than minCalls (${limits.minCalls})`);
    }
    if (v2.recoveredMs === null) failures.push(`${fault}: V2 was not back to full capacity within the run`);
    if (v2.firstSuccessMs === null) failures.push(`${fault}: no call succeeded on V2 after the fault within the run`);
    if (v1.recoveredMs !== null && v2.recoveredMs !== null && beyond(v1.recoveredMs, v2.recoveredMs, limits.recoveryFloorMs)) {
      failures.push(`${fault}: V2 back to full capacity in ${v2.recoveredMs.toFixed(0)} ms, V1 in ${v1.recoveredMs.toFixed(0)} ms: slower than ${rule} + ${limits.recoveryFloorMs} ms`);
    }
    if (v1.firstSuccessMs !== null && v2.firstSuccessMs !== null && beyond(v1.firstSuccessMs, v2.firstSuccessMs, limits.recoveryFloorMs)) {
      failures.push(`${fault}: first success on V2 ${v2.firstSuccessMs.toFixed(0)} ms after the fault, on V1 ${v1.firstSuccessMs.toFixed(0)} ms: slower than ${rule} + ${limits.recoveryFloorMs} ms`);
    }
    if (beyond(v1.failed, v2.failed, limits.failedFloor)) failures.push(`${fault}: V2 failed ${v2.failed} calls, V1 ${v1.failed}: more than ${rule} + ${limits.failedFloor}`);
  }
  if (failures.length > 0) return { verdict: "fail", reasons: failures };
  return gaps.length > 0 ? { verdict: "insufficient", reasons: gaps } : { verdict: "pass", reasons: [] };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** `promise`, or nothing once `ms` have passed; the timer is cleared either way. */
async function within(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([promise, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
  clearTimeout(timer);
}

/** The memory fault: a worker made to hold more than an enhanced pool's RSS limit. */
const MEMORY_MB = 120;
const MEMORY_LIMIT_MB = 80;

/**
 * Calls issued and calls settled, counted by whoever issues them: a call
 * that never settles is lost whatever the pool's own counters say.
 *
 * @example
 * ```ts
 * import { Ledger } from "./faults.ts";
 * const ledger = new Ledger();
 * void ledger.track(Promise.resolve("answered"));
 * void ledger.track(new Promise(() => {}));
 * console.log(await ledger.lostAfter(10)); // 1
 * ```
 */
export class Ledger {
  #issued = 0;
  #settled = 0;
  readonly #open = new Set<Promise<unknown>>();

  /** Calls tracked so far. */
  get issued(): number {
    return this.#issued;
  }

  /** Tracked calls that resolved or rejected. */
  get settled(): number {
    return this.#settled;
  }

  /** Count `call` as issued now, and as settled when it settles. */
  track<T>(call: Promise<T>): Promise<T> {
    this.#issued++;
    const done = call.finally(() => {
      this.#settled++;
      this.#open.delete(done);
    });
    this.#open.add(done);
    return done;
  }

  /** Wait until every call has settled or `ms` pass; resolves with the calls still open. */
  async lostAfter(ms: number): Promise<number> {
    await within(Promise.allSettled([...this.#open]), ms);
    return this.#issued - this.#settled;
  }
}
function forFault(o: PoolOptions, fault: FaultKind): PoolOptions {
  const enhanced = o.strategy !== "basic";
  return {
    ...o,
    env: { ...o.env, MOLT_FAULT_INJECTION: "1" },
    ...(fault === "memory" && enhanced ? { maxRssBytes: MEMORY_LIMIT_MB << 20, sampleEveryMs: 50 } : {}),
    ...(fault === "saturation" && enhanced ? { maxQueue: 50 } : {}),
  };
}

/** Inject the fault; its calls go through the ledger like any other. */
async function inject(pool: Pool, fault: FaultKind, ledger: Ledger, timeoutMs: number): Promise<void> {
  const call = (command: string, args: unknown, o: { timeoutMs: number }): Promise<unknown> => ledger.track(pool.execute(command, args, o)).catch(() => {});
  const victim = pool.metrics().workers[0]?.pid ?? null;
  if (fault === "crash" && victim !== null) process.kill(victim, "SIGKILL");
  // A handler that hangs past its call's deadline: the pool must give up on that worker and replace it.
  if (fault === "hang") await call("molt.inject", { kind: "hang", seconds: 60 }, { timeoutMs: 300 });
  if (fault === "garbage") await call("molt.inject", { kind: "garbage" }, { timeoutMs });
  if (fault === "memory") await call("molt.inject", { kind: "memory", mb: MEMORY_MB }, { timeoutMs });
  if (fault === "saturation") await Promise.all(Array.from({ length: 400 }, () => call("ping", null, { timeoutMs: 500 })));
}

async function runOne(options: PoolOptions, fault: FaultKind, o: Required<Pick<FaultOptions, "users" | "durationMs" | "command" | "timeoutMs">> & { args: unknown }): Promise<FaultResult> {
  const pool = await createPool(forFault(options, fault));
  const size = pool.metrics().size;
  const ledger = new Ledger();
  let calls = 0;
  let failed = 0;
  let okBefore = 0;
  let running = true;
  /** When the fault was injected, and when a load call first succeeded after it. */
  let t0: number | null = null;
  let firstSuccess: number | null = null;
  const succeeded = (): void => {
    const now = performance.now();
    if (t0 === null) okBefore++;
    else if (firstSuccess === null && now > t0) firstSuccess = now;
  };
  const loops = Array.from({ length: o.users }, async (_, user) => {
    for (let i = 0; running; i++) {
      calls++;
      await ledger.track(pool.execute(o.command, o.args, { timeoutMs: o.timeoutMs, idempotent: i % 2 === 0, sessionId: `fault-${user}` }))
        .then(succeeded, () => void failed++);
    }
  });
  // Under load for a moment, and serving: a slow command gets up to one deadline to succeed once.
  await sleep(200);
  for (const end = performance.now() + o.timeoutMs; okBefore === 0 && performance.now() < end;) await sleep(10);
  const retriesBefore = pool.stats().retries;
  const before = new Set(pool.metrics().workers.map((w) => w.pid));
  t0 = performance.now();
  const injected = inject(pool, fault, ledger, o.timeoutMs);
  let recoveredMs: number | null = null;
  while (performance.now() - t0 < o.durationMs) {
    const m = pool.metrics();
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
  const lost = await ledger.lostAfter(o.timeoutMs + 1000);
  const retriedOk = Math.max(0, pool.stats().retries - retriesBefore);
  await pool.stop();
  // Stopping the pool settles what was left, so the loops and the injection end with it; a lost call
  // would hold its loop forever, and is already counted.
  await within(Promise.all([...loops, injected]), 1000);
  const firstSuccessMs = firstSuccess === null ? null : (firstSuccess as number) - t0;
  return { calls, failed, okBefore, lost, retriedOk, firstSuccessMs, recoveredMs };
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
    durationMs: options.durationMs ?? 4000,
    command: options.command ?? "ping",
    args: options.args ?? null,
    timeoutMs: options.timeoutMs ?? 2000,
  };
  const limits: FaultLimits = {
    tolerance: options.tolerance ?? 0.5,
    recoveryFloorMs: options.recoveryFloorMs ?? 250,
    failedFloor: options.failedFloor ?? 5,
    minCalls: options.minCalls ?? 20,
  };
  const positive = (v: number): boolean => Number.isInteger(v) && v > 0;
  const finite = (v: number): boolean => typeof v === "number" && v >= 0 && v < Infinity;
  if (typeof o.command !== "string" || o.command.length === 0) bad("command", o.command, "a non-empty string");
  if (!positive(o.users)) bad("users", o.users, "a positive integer");
  if (!positiveDuration.is(o.durationMs)) bad("durationMs", o.durationMs, positiveDuration.allowed);
  if (!positiveDuration.is(o.timeoutMs)) bad("timeoutMs", o.timeoutMs, positiveDuration.allowed);
  if (!finite(limits.tolerance)) bad("tolerance", limits.tolerance, "a finite number, at least 0");
  if (!finite(limits.recoveryFloorMs)) bad("recoveryFloorMs", limits.recoveryFloorMs, "a finite number of milliseconds, at least 0");
  if (!finite(limits.failedFloor)) bad("failedFloor", limits.failedFloor, "a finite number, at least 0");
  if (!positive(limits.minCalls)) bad("minCalls", limits.minCalls, "a positive integer");
  const results: FaultRun[] = [];
  for (const fault of faults) {
    const v1 = await runOne(options.v1, fault, o);
    const v2 = await runOne(options.v2, fault, o);
    results.push({ fault, v1, v2 });
  }
  return { kind: "faults", results, ...faultVerdict(results, limits) };
}
