/**
 * Hostile handlers, on basic and enhanced pools, with 1 and 4 handler
 * threads: each misbehaviour ends its call with a typed error within the
 * deadline plus a small bound, innocent calls beside it are unharmed, the
 * pool is back at full capacity after, and nothing the handlers started
 * outlives stop().
 */
import { describe, expect, test } from "bun:test";
import { isMoltError, type Pool, type Strategy } from "../../mod.ts";
import { fixture, pidAlive, waitFor } from "../helpers.ts";
import { echoPool } from "./helpers.ts";

/** Time past a call's deadline its error may take on a loaded machine. */
const BOUND_MS = 2000;
const TIMEOUT_MS = 3000;

/** [command, the error it must end with (tag, and Python type for a PythonError)]. */
const HOSTILE: readonly [string, string][] = [
  ["nan", "PythonError:UnserializableResult"],
  ["infinity", "PythonError:UnserializableResult"],
  ["deep_result", "PythonError:UnserializableResult"],
  ["unserializable", "PythonError:UnserializableResult"],
  ["evil_dict", "PythonError:UnserializableResult"],
  ["system_exit", "PythonError:SystemExit"],
  ["keyboard_interrupt", "PythonError:KeyboardInterrupt"],
  ["generator_exit", "PythonError:GeneratorExit"],
  ["base_exception", "PythonError:Custom"],
  ["unprintable", "PythonError:Unprintable"],
  ["exit", "WorkerExitedError"],
  ["stop_self", "WorkerTimeoutError"],
];

const tagOf = (e: unknown): string => {
  if (!isMoltError(e)) return `untyped: ${String(e)}`;
  return e._tag === "PythonError" ? `PythonError:${e.type}` : e._tag;
};

async function hostilePool(strategy: Strategy, threads: number): Promise<Pool> {
  const { pool } = await echoPool({
    name: `hostile-${strategy}-${threads}`,
    strategy,
    handler: fixture("hostile_handler.py"),
    size: 2,
    threads,
    killGraceMs: 500,
    shutdownGraceMs: 500,
    drainTimeoutMs: 1000,
    ...(strategy === "enhanced" ? { minReady: 2, breaker: false } : {}),
  });
  return pool;
}

for (const strategy of ["basic", "enhanced"] as const) {
  for (const threads of [1, 4]) {
    describe(`hostile handlers, ${strategy} pool, threads ${threads}`, () => {
      test("each misbehaviour is a typed error in time; innocent calls succeed; capacity comes back; nothing outlives stop()", async () => {
        const pool = await hostilePool(strategy, threads);
        const seen: string[] = [];
        const pids = new Set<number>(pool.metrics().workers.map((w) => w.pid));
        for (const [command, expected] of HOSTILE) {
          const t0 = performance.now();
          const innocent = Array.from({ length: 8 }, (_, i) => pool.execute("echo", { i }, { idempotent: true, timeoutMs: 20_000 }));
          const error = await pool.execute(command, null, { timeoutMs: TIMEOUT_MS }).then(() => null, (e: unknown) => e);
          const ms = performance.now() - t0;
          seen.push(`${command}: ${tagOf(error)}${ms > TIMEOUT_MS + BOUND_MS ? ` after ${Math.round(ms)} ms` : ""}`);
          expect(await Promise.all(innocent)).toEqual(Array.from({ length: 8 }, (_, i) => ({ i })));
          expect(await waitFor(() => pool.metrics().ready === 2, 20_000)).toBe(true);
          for (const w of pool.metrics().workers) pids.add(w.pid);
        }
        expect(seen).toEqual(HOSTILE.map(([command, expected]) => `${command}: ${expected}`));

        // Children forked, started with subprocess, and in a session of their own: gone with the pool.
        const children: number[] = [];
        for (const command of ["fork_child", "subprocess_child", "setsid_child"]) children.push(await pool.execute<number>(command, null));
        expect(children.every(pidAlive)).toBe(true);
        await pool.stop();
        expect(await waitFor(() => [...pids, ...children].every((pid) => !pidAlive(pid)), 5000)).toBe(true);
      }, 120_000);
    });
  }
}
