/**
 * A spawned child process with piped stdio, the same shape under Bun, Deno
 * and Node. Bun gets Bun.spawn; the others node:child_process.
 *
 * @module
 */
import type { ExitInfo } from "../errors.ts";
import { type Descendant, descendantsOf, killLeftovers, signalTree } from "./tree.ts";

/** What to run and where its output goes. */
export interface SpawnSpec {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string | undefined;
  readonly onStdout: (chunk: Uint8Array) => void;
  readonly onStderr: (chunk: Uint8Array) => void;
}

/** A process as a runtime's spawner gives it: write to its stdin, learn how it ended. */
export interface SpawnedProcess {
  readonly pid: number;
  /** Write bytes to stdin; frames written while a write is pending are joined. Errors surface as exit. */
  write(bytes: Uint8Array): void;
  closeStdin(): void;
  /** Settles once the process has exited and its stdout has been read to the end. */
  readonly exited: Promise<ExitInfo>;
}

/** A running child and what it started: signalled as a group, and nothing of it left once it has exited. */
export interface ChildProcess extends SpawnedProcess {
  /** Signal the child and its process group (see tree.ts). The pid itself is signalled, not a runtime's handle: Deno's refuses a second kill. */
  kill(signal: "SIGTERM" | "SIGKILL"): void;
  /** Note what the child has started so far, to be killed once it has exited (call before stopping it). */
  rememberTree(): void;
}

/** Raised when the program could not be started at all (not found, not executable). */
export class SpawnFailure {
  constructor(readonly code: string, readonly detail: string) {}
}

// After exit, output still in the pipe is read; a grandchild that inherited the
// pipe must not hold the exit back for long.
const STREAM_DRAIN_MS = 200;

/** Resolve when `exit` has settled and `ended` has too, or `STREAM_DRAIN_MS` after `exit`. */
export function afterOutput(exit: Promise<ExitInfo>, ended: Promise<void>): Promise<ExitInfo> {
  return exit.then(async (info) => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([ended, new Promise<void>((r) => (timer = setTimeout(r, STREAM_DRAIN_MS)))]);
    clearTimeout(timer);
    return info;
  });
}

/** Spawn with the runtime's fastest API. Rejects with a SpawnFailure when nothing started. */
export async function spawnChild(spec: SpawnSpec): Promise<ChildProcess> {
  const bun = (globalThis as { Bun?: unknown }).Bun;
  const spawned = bun !== undefined ? (await import("./spawn-bun.ts")).spawnBun(spec) : (await import("./spawn-node.ts")).spawnNode(spec);
  return withTree(await spawned);
}

/** Frames at least this long are written as they are, never copied into a joined write. */
const JOIN_BELOW_BYTES = 64 * 1024;

/**
 * Frames written in one turn of the event loop leave in one write: each
 * write to a child's stdin is a system call (about 10 µs of the host's CPU,
 * as much as the rest of a call), so a busy pool queues the frames of a
 * turn and joins them at its end (one write per 32 frames at 64 calls in
 * flight, in bench/pool.bench.ts). A large frame is not copied: the queue
 * goes first, then the frame as it is.
 */
function coalescing(child: SpawnedProcess): Pick<SpawnedProcess, "write" | "closeStdin"> {
  let queued: Uint8Array[] = [];
  let bytes = 0;
  let scheduled = false;
  const flush = (): void => {
    scheduled = false;
    if (queued.length === 0) return;
    let chunk = queued[0]!;
    if (queued.length > 1) {
      chunk = new Uint8Array(bytes);
      let at = 0;
      for (const q of queued) {
        chunk.set(q, at);
        at += q.length;
      }
    }
    queued = [];
    bytes = 0;
    child.write(chunk);
  };
  return {
    write(frame) {
      if (frame.length >= JOIN_BELOW_BYTES) {
        flush();
        child.write(frame);
        return;
      }
      queued.push(frame);
      bytes += frame.length;
      if (!scheduled) {
        scheduled = true;
        queueMicrotask(flush);
      }
    },
    closeStdin() {
      // What was written before the close (the shutdown frame) goes first.
      flush();
      child.closeStdin();
    },
  };
}

function withTree(child: SpawnedProcess): ChildProcess {
  let remembered: readonly Descendant[] = [];
  const io = coalescing(child);
  return {
    pid: child.pid,
    write: (bytes) => io.write(bytes),
    closeStdin: () => io.closeStdin(),
    kill: (signal) => signalTree(child.pid, signal),
    rememberTree: () => void (remembered = descendantsOf(child.pid)),
    exited: child.exited.then((info) => {
      killLeftovers(child.pid, remembered);
      return info;
    }),
  };
}
