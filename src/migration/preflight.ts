/**
 * Preflight: the checks a migration runs before it changes anything, each
 * real — the runtime, V1 serving, free disk where the store lives, V2's
 * interpreter and its version, and V2's handler importing in a real worker.
 *
 * @module
 */
import { statfsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Pool } from "../pool/types.ts";
import { type PoolOptions, workerOptionsOf } from "../pool/options.ts";
import { resolvePython } from "../process/python.ts";
import type { Store } from "../store/store.ts";
import { spawnWorker } from "../worker/spawn-worker.ts";

/** One check's result. */
export interface Check {
  readonly check: string;
  readonly ok: boolean;
  readonly detail: string;
}

const MIN_RUNTIME: Readonly<Record<string, number[]>> = { bun: [1, 1], deno: [2, 0], node: [22, 13] };

function runtime(): { name: string; version: string } {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.bun !== undefined) return { name: "bun", version: versions.bun };
  if (versions.deno !== undefined) return { name: "deno", version: versions.deno };
  return { name: "node", version: versions.node ?? "0" };
}

const atLeast = (version: string, min: readonly number[]): boolean => {
  const parts = version.split(".").map(Number);
  for (let i = 0; i < min.length; i++) {
    if ((parts[i] ?? 0) !== min[i]) return (parts[i] ?? 0) > min[i]!;
  }
  return true;
};

/** Run one check: its detail when it passes, its error's message when it fails. */
export async function attempt(check: string, fn: () => Promise<string> | string): Promise<Check> {
  try {
    return { check, ok: true, detail: await fn() };
  } catch (e) {
    return { check, ok: false, detail: String((e as Error).message ?? e) };
  }
}

/** Run every check (all of them, even after one failed, so the report is whole). */
export async function preflight(v1: Pool, v2: PoolOptions, store: Store, minFreeBytes: number): Promise<Check[]> {
  return [
    await attempt("runtime", () => {
      const r = runtime();
      const min = MIN_RUNTIME[r.name]!;
      if (!atLeast(r.version, min)) throw new Error(`${r.name} ${r.version} is older than ${min.join(".")}`);
      return `${r.name} ${r.version}`;
    }),
    await attempt("v1_serving", () => {
      if (v1.state !== "serving" && v1.state !== "degraded") throw new Error(`pool ${v1.name} is ${v1.state}`);
      return `pool ${v1.name} is ${v1.state}`;
    }),
    await attempt("disk_space", () => {
      if (store.backend !== "sqlite" || store.location.endsWith(":memory:")) return `not checked: the store is ${store.location}`;
      const dir = dirname(resolve(store.location.replace(/^sqlite:/, "")));
      const s = statfsSync(dir);
      const free = Number(s.bavail) * Number(s.bsize);
      if (free < minFreeBytes) throw new Error(`${free} bytes free in ${dir}, below ${minFreeBytes}`);
      return `${Math.round(free / 1e6)} MB free in ${dir}`;
    }),
    await attempt("v2_interpreter", async () => {
      const python = await resolvePython(v2.python ?? "python3");
      const version = await new Promise<string>((ok, fail) => {
        import("node:child_process").then(({ execFile }) =>
          execFile(python, ["--version"], { timeout: 10_000 }, (error, stdout, stderr) => (error ? fail(error) : ok(`${stdout}${stderr}`.trim())))
        );
      });
      return `${python}: ${version}`;
    }),
    await attempt("v2_handler_imports", async () => {
      const probe = await spawnWorker({ ...workerOptionsOf(v2), id: "preflight", heartbeatMs: 0 });
      const commands = probe.hello.commands.length;
      await probe.stop();
      return `handler ${v2.handler} imports; ${commands} commands`;
    }),
  ];
}
