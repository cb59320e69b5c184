/**
 * What the kernel says of a process by its pid: its /proc/<pid>/stat line
 * (Linux), and whether it still runs, which a process that has exited but
 * not yet been reaped (a zombie) does not.
 *
 * @module
 */
import { readFileSync } from "node:fs";

/** A process's pid, parent, state letter (`R`, `S`, `Z`, ...) and start time in clock ticks since boot. */
export interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  readonly state: string;
  readonly startedAt: string;
}

/**
 * `pid`'s /proc/<pid>/stat, or null when it is gone or there is no /proc.
 *
 * @example
 * ```ts
 * import { procStat } from "./proc-stat.ts";
 * console.log(procStat(process.pid)?.pid === process.pid || process.platform !== "linux"); // true
 * ```
 */
export function procStat(pid: number): ProcStat | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name may hold spaces and parentheses: the fields start after the last ")".
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    return { pid, ppid: Number(fields[1]), state: fields[0] ?? "", startedAt: fields[19] ?? "" };
  } catch {
    return null;
  }
}

/**
 * Whether `pid` runs on this host. A zombie does not: it has exited, and
 * only its parent's wait is missing. Without /proc (macOS) the kernel is
 * asked by signal 0, and a process of another user (EPERM) runs.
 *
 * @example
 * ```ts
 * import { isRunning } from "./proc-stat.ts";
 * console.log(isRunning(process.pid), isRunning(2 ** 22 + 1)); // true false
 * ```
 */
export function isRunning(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  const stat = procStat(pid);
  if (stat !== null) return stat.state !== "Z";
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: unknown }).code === "EPERM";
  }
}
