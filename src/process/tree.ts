/**
 * A worker's process tree, so that nothing a handler started outlives the
 * worker. Each worker makes itself the leader of its own process group
 * (molt/worker.py calls setsid): children a handler forks or starts with
 * `subprocess` share that group, and one signal to the group reaches them
 * all. A child started in a session of its own leaves the group; on Linux it
 * is found by walking /proc from the worker before the worker goes, while it
 * is still the worker's child.
 *
 * @module
 */
import { readdirSync, readFileSync } from "node:fs";
import { procStat as stat } from "./proc-stat.ts";

/** A process, with its start time so that a reused pid is never taken for it. */
export interface Descendant {
  readonly pid: number;
  readonly startedAt: string;
}

/** Signal `pid`'s process group, or the process alone before it has made its group; a process already gone is no error. */
export function signalTree(pid: number, signal: "SIGTERM" | "SIGKILL"): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Signal what is left of a process group whose leader has exited; an empty group is no error. */
export function killLeftovers(leader: number, descendants: readonly Descendant[]): void {
  try {
    process.kill(-leader, "SIGKILL");
  } catch {
    // No member left.
  }
  for (const d of descendants) {
    if (stat(d.pid)?.startedAt !== d.startedAt) continue;
    try {
      process.kill(d.pid, "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
}

/**
 * Every descendant of `root` now (Linux; elsewhere none: the process group
 * still reaches most). It reads the kernel's list of each process's
 * children, which costs as much as the tree is big; only a kernel without
 * those lists makes it read every process on the machine.
 */
export function descendantsOf(root: number): Descendant[] {
  if (childrenOf(root) === null) return scanned(root);
  const found: Descendant[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const pid of childrenOf(queue.shift()!) ?? []) {
      const s = stat(pid);
      if (s === null) continue;
      found.push({ pid, startedAt: s.startedAt });
      queue.push(pid);
    }
  }
  return found;
}

/** The children of `pid`, from /proc/<pid>/task/<tid>/children; null where the kernel keeps no such list. */
function childrenOf(pid: number): number[] | null {
  try {
    const children: number[] = [];
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const text = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      if (text !== "") for (const child of text.split(" ")) children.push(Number(child));
    }
    return children;
  } catch {
    return null;
  }
}

/** Descendants from a scan of every process's parent. */
function scanned(root: number): Descendant[] {
  let entries: string[];
  try {
    entries = readdirSync("/proc");
  } catch {
    return [];
  }
  const children = new Map<number, Descendant[]>();
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (s === null) continue;
    const list = children.get(s.ppid) ?? [];
    list.push({ pid: s.pid, startedAt: s.startedAt });
    children.set(s.ppid, list);
  }
  const found: Descendant[] = [];
  const queue = [root];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift()!) ?? []) {
      found.push(child);
      queue.push(child.pid);
    }
  }
  return found;
}
