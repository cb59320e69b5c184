/**
 * Preflight: the checks a migration runs before it changes anything, each
 * real — the runtime, V1 serving, the store (its version, and that this
 * connection may write molt's tables), free disk wherever molt writes files
 * (the migration's work directory, and a SQLite store's), V2's interpreter
 * and its version, and V2's handler importing in a real worker.
 *
 * @module
 */
import { existsSync, statfsSync } from "node:fs";
import { dirname, resolve } from "node:path";
import type { Pool } from "../pool/types.ts";
import { type PoolOptions, workerOptionsOf } from "../pool/options.ts";
import { resolvePython } from "../process/python.ts";
import { SpawnFailure } from "../process/child.ts";
import type { Store } from "../store/store.ts";
import { spawnWorker } from "../worker/spawn-worker.ts";

/** One check's result. */
export interface Check {
  readonly check: string;
  /** "insufficient": the check could not gather its evidence; like "fail", it stops the migration. */
  readonly status: "pass" | "fail" | "insufficient";
  /** `status === "pass"`. */
  readonly ok: boolean;
  readonly detail: string;
}

/** Thrown inside a check that could not gather its evidence. */
export class Unverifiable extends Error {}

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

/** Run one check: its detail when it passes, its error's message when it fails (or cannot tell: Unverifiable). */
export async function attempt(check: string, fn: () => Promise<string> | string): Promise<Check> {
  try {
    return { check, status: "pass", ok: true, detail: await fn() };
  } catch (e) {
    // A failed spawn of the interpreter is a SpawnFailure, whose words are in `detail`.
    const detail = e instanceof SpawnFailure ? e.detail : String((e as Error).message ?? e);
    return { check, status: e instanceof Unverifiable ? "insufficient" : "fail", ok: false, detail };
  }
}

/** Free bytes on the file system that holds `path` (or would, once created). */
function freeBytes(path: string): { dir: string; free: number } {
  let dir = resolve(path);
  while (!existsSync(dir) && dirname(dir) !== dir) dir = dirname(dir);
  let s: ReturnType<typeof statfsSync>;
  try {
    s = statfsSync(dir);
  } catch (e) {
    throw new Unverifiable(`free space in ${dir} cannot be read here: ${(e as Error).message}`);
  }
  return { dir, free: Number(s.bavail) * Number(s.bsize) };
}

/** Run every check (all of them, even after one failed, so the report is whole). */
export async function preflight(v1: Pool, v2: PoolOptions, store: Store, minFreeBytes: number, workDir: string): Promise<Check[]> {
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
    await attempt("store", async () => {
      const p = await store.probe();
      const problems = [
        ...(p.versionOk ? [] : [`${p.backend} ${p.version} is older than ${p.minimumVersion}`]),
        ...(p.unwritable.length === 0 ? [] : [`this connection may not write ${p.unwritable.join(", ")}`]),
      ];
      if (problems.length > 0) throw new Error(`${store.location}: ${problems.join("; ")}`);
      return `${p.backend} ${p.version} at ${store.location}, reachable; molt's tables writable`;
    }),
    await attempt("disk_space", () => {
      // Where molt writes files: the work directory (backup and archive files), and a SQLite store's file.
      const places = [workDir, ...(store.backend === "sqlite" && !store.location.endsWith(":memory:") ? [dirname(store.location.replace(/^sqlite:/, ""))] : [])];
      const found = places.map(freeBytes);
      const short = found.filter((f) => f.free < minFreeBytes);
      if (short.length > 0) throw new Error(short.map((f) => `${f.free} bytes free in ${f.dir}, below ${minFreeBytes}`).join("; "));
      return found.map((f) => `${Math.round(f.free / 1e6)} MB free in ${f.dir}`).join("; ");
    }),
    await attempt("v2_interpreter", async () => {
      const python = await resolvePython(v2.python ?? "python3", v2.startTimeoutMs);
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
