/**
 * Verification of a freshly started V2 before any traffic moves: its
 * workers are ready, a failing call comes back as a typed error and leaves
 * the worker alive, its telemetry flows, and a short latency probe against
 * V1 measures both.
 *
 * @module
 */
import type { Pool } from "../pool/types.ts";
import { attempt, type Check } from "./preflight.ts";

const PROBE_CALLS = 20;
const READY_WAIT_MS = 10_000;

async function p50(pool: Pool): Promise<number> {
  const times: number[] = [];
  for (let i = 0; i < PROBE_CALLS; i++) {
    const t = performance.now();
    await pool.execute("ping", null, { timeoutMs: 5000 });
    times.push(performance.now() - t);
  }
  return times.sort((a, b) => a - b)[PROBE_CALLS / 2]!;
}

/** Every verification check (all run, so the report is whole). */
export async function verify(v1: Pool, v2: Pool): Promise<Check[]> {
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
    const error = await v2.execute("molt.verify.no_such_command", null, { timeoutMs: 5000 }).then(() => null, (e: unknown) => e);
    const tag = (error as { _tag?: string } | null)?._tag;
    if (tag !== "PythonError") throw new Error(`a failing call gave ${tag ?? "no error"}, not a PythonError`);
    await v2.execute("ping", null, { timeoutMs: 5000 });
    const after = v2.metrics().workers.map((w) => w.pid).sort();
    const lost = before.filter((pid) => !after.includes(pid));
    if (lost.length > 0) throw new Error(`workers ${lost.join(", ")} were lost after a failing call`);
    return `a failing call gave ${tag} (${(error as { type?: string }).type}); workers ${after.join(", ")} still serve`;
  });
  await check("telemetry", async () => {
    let seen = 0;
    const unsubscribe = v2.events.subscribe((e) => void (e.type === "call.completed" && seen++));
    await v2.execute("ping", null, { timeoutMs: 5000 });
    unsubscribe();
    if (seen === 0 || v2.metrics().calls === 0) throw new Error("no call.completed event and no calls in the metric window");
    return `events and metrics flow (${v2.metrics().calls} calls in the window)`;
  });
  await check("latency_probe", async () => {
    const [a, b] = [await p50(v1), await p50(v2)];
    return `ping p50: V1 ${a.toFixed(2)} ms, V2 ${b.toFixed(2)} ms (${PROBE_CALLS} calls each)`;
  });
  return checks;
}
