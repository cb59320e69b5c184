/**
 * Which runtimes molt supports, checked when molt is imported: Bun from 1.1,
 * Deno from 2.2 (the first with node:sqlite), and Node.js from 22.13 or 23.4
 * (the first with node:sqlite unflagged). Anything older fails at once,
 * saying what it is and what is needed, rather than later with a missing
 * module or an unknown file extension.
 *
 * @module
 */
import { UnsupportedRuntimeError } from "./errors.ts";

/** What molt needs, as the error says it. */
const NEEDED = "Node.js 22.13 or later (23.4 or later in 23), Bun 1.1 or later, or Deno 2.2 or later";

/** A runtime as `currentRuntime` reports it. */
export interface RuntimeInfo {
  readonly runtime: "Bun" | "Deno" | "Node.js";
  readonly version: string;
}

/** The runtime running this code. */
export function currentRuntime(): RuntimeInfo {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Bun !== undefined) return { runtime: "Bun", version: g.Bun.version };
  if (g.Deno !== undefined) return { runtime: "Deno", version: g.Deno.version.deno };
  return { runtime: "Node.js", version: process.versions.node };
}

/** @internal Throws UnsupportedRuntimeError for a runtime molt does not support. */
export function checkRuntime(info: RuntimeInfo): void {
  const [major = 0, minor = 0] = info.version.split(".").map(Number);
  const atLeast = (m: number, n: number): boolean => major > m || (major === m && minor >= n);
  const ok = info.runtime === "Bun" ? atLeast(1, 1) : info.runtime === "Deno" ? atLeast(2, 2) : major === 22 ? minor >= 13 : major === 23 ? minor >= 4 : major > 23;
  if (!ok) throw new UnsupportedRuntimeError({ runtime: info.runtime, version: info.version, needed: NEEDED });
}
