/**
 * Verification of a freshly started V2 before any traffic moves: its
 * workers are ready, a failing call comes back as a typed error and leaves
 * the worker alive, its telemetry flows, and a latency probe: the same call
 * on both arms, alternately, and V2 no slower than V1 beyond a ratio and a
 * floor.
 *
 * @module
 */
import { refuseUnknown, refuser } from "../config.ts";
import type { Pool } from "../pool/types.ts";
import { attempt, type Check } from "./preflight.ts";

/** The latency probe of verification. */
export interface VerifyOptions {
  /** The call both arms answer. Default `{ command: "ping" }`. */
  readonly probe?: { readonly command: string; readonly args?: unknown };
  /** Calls per arm (sequential, alternating arms). Default 20. */
  readonly calls?: number;
  /** V2's median over V1's above this fails (with the floor). Default 2. */
  readonly latencyRatio?: number;
  /** ...and only when V2's median also exceeds V1's times the ratio by this many ms: scheduling noise. Default 5. */
  readonly latencyFloorMs?: number;
}

const READY_WAIT_MS = 10_000;

/** Validate verification options, applying defaults. */
export function resolveVerifyOptions(given: VerifyOptions = {}): Required<VerifyOptions> {
  const bad = refuser("migration", "verify.");
  if (typeof given !== "object" || given === null) bad("options", given, "an object");
  refuseUnknown("migration: verify", given, ["probe", "calls", "latencyRatio", "latencyFloorMs"]);
  const o = { probe: given.probe ?? { command: "ping" }, calls: given.calls ?? 20, latencyRatio: given.latencyRatio ?? 2, latencyFloorMs: given.latencyFloorMs ?? 5 };
  if (typeof o.probe?.command !== "string" || o.probe.command.length === 0) bad("probe", o.probe, "{ command: a non-empty string, args?: any }");
  if (!Number.isInteger(o.calls) || o.calls < 5 || o.calls > 10_000) bad("calls", o.calls, "an integer from 5 to 10000");
  if (!(typeof o.latencyRatio === "number" && o.latencyRatio >= 1 && o.latencyRatio < Infinity)) bad("latencyRatio", o.latencyRatio, "a finite number of at least 1");
  if (!(typeof o.latencyFloorMs === "number" && o.latencyFloorMs >= 0 && o.latencyFloorMs < Infinity)) bad("latencyFloorMs", o.latencyFloorMs, "a finite number of milliseconds, at least 0");
  return o;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** The probe on both arms, alternately so that the machine's noise falls on both; throws on the first failed call. */
async function probeBoth(v1: Pool, v2: Pool, o: Required<VerifyOptions>): Promise<{ v1: number; v2: number }> {
  const times = { v1: [] as number[], v2: [] as number[] };
  for (let i = 0; i < o.calls; i++) {
    for (const [arm, pool] of [["v1", v1], ["v2", v2]] as const) {
      const t = performance.now();
      await pool.execute(o.probe.command, o.probe.args ?? null, { timeoutMs: 5000, probe: true }).catch((e: unknown) => {
        throw new Error(`the probe ${o.probe.command} failed on ${arm} (${pool.name}): ${(e as { _tag?: string })._tag ?? "Error"}: ${(e as Error).message}`);
      });
      times[arm].push(performance.now() - t);
    }
  }
  return { v1: median(times.v1), v2: median(times.v2) };
}

/** Every verification check (all run, so the report is whole). */
export async function verify(v1: Pool, v2: Pool, options: Required<VerifyOptions> = resolveVerifyOptions()): Promise<Check[]> {
  const checks: Check[] = [];
  const check = async (name: string, fn: () => Promise<string> | string): Promise<void> => void checks.push(await attempt(name, fn));
  await check("workers_ready", async () => {
    // A pool serves once minReady workers are up; verification waits for all of them.
    const deadline = performance.now() + READY_WAIT_MS;
    while (v2.metrics().ready < v2.metrics().size && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const m = v2.metrics();
    if (m.ready < m.size || v2.state !== "serving") throw new Error(`pool ${v2.name} is ${v2.state} with ${m.ready} of ${m.size} workers ready after ${READY_WAIT_MS} ms`);
    return `${m.ready} of ${m.size} workers ready`;
  });
  await check("typed_error_and_survival", async () => {
    const before = v2.metrics().workers.map((w) => w.pid).sort();
    const error = await v2.execute("molt.verify.no_such_command", null, { timeoutMs: 5000, probe: true }).then(() => null, (e: unknown) => e);
    const tag = (error as { _tag?: string } | null)?._tag;
    if (tag !== "PythonError") throw new Error(`a failing call gave ${tag ?? "no error"}, not a PythonError`);
    await v2.execute("ping", null, { timeoutMs: 5000, probe: true });
    const after = v2.metrics().workers.map((w) => w.pid).sort();
    const lost = before.filter((pid) => !after.includes(pid));
    if (lost.length > 0) throw new Error(`workers ${lost.join(", ")} were lost after a failing call`);
    return `a failing call gave ${tag} (${(error as { type?: string }).type}); workers ${after.join(", ")} still serve`;
  });
  await check("telemetry", async () => {
    let seen = 0;
    const unsubscribe = v2.events.subscribe((e) => void (e.type === "call.completed" && seen++));
    // Counted on purpose: this is the call whose event and metrics show telemetry flows (a success, so it cannot count against V2).
    await v2.execute("ping", null, { timeoutMs: 5000 });
    unsubscribe();
    if (seen === 0 || v2.metrics().calls === 0) throw new Error("no call.completed event and no calls in the metric window");
    return `events and metrics flow (${v2.metrics().calls} calls in the window)`;
  });
  await check("latency_probe", async () => {
    const { v1: a, v2: b } = await probeBoth(v1, v2, options);
    const limit = a * options.latencyRatio + options.latencyFloorMs;
    const text = `${options.probe.command} median: V1 ${a.toFixed(2)} ms, V2 ${b.toFixed(2)} ms over ${options.calls} calls each; limit ${limit.toFixed(2)} ms (V1 × ${options.latencyRatio} + ${options.latencyFloorMs} ms)`;
    if (b > limit) throw new Error(`V2 is slower than V1: ${text}`);
    return text;
  });
  return checks;
}
