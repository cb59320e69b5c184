/**
 * Which runtimes molt supports, checked when molt is imported: Bun, Deno 2,
 * and Node.js from 22.13 (the first with node:sqlite unflagged). Anything
 * older fails at once, saying what it is and what is needed, rather than
 * later with a missing module or an unknown file extension.
 *
 * @module
 */
import { UnsupportedRuntimeError } from "./errors.ts";

/** What molt needs, as the error says it. */
const NEEDED = "Node.js 22.13 or later, Bun, or Deno 2";

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
  const ok = info.runtime === "Bun" || (info.runtime === "Deno" ? major >= 2 : major > 22 || (major === 22 && minor >= 13));
  if (!ok) throw new UnsupportedRuntimeError({ runtime: info.runtime, version: info.version, needed: NEEDED });
}
