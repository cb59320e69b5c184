/**
 * Bun.spawn behind the SpawnedProcess shape. Bun is reached through
 * `globalThis` with a local type, so this file also passes `deno check`.
 *
 * @module
 */
import { constants } from "node:os";
import { afterOutput, SpawnFailure, type SpawnedProcess, type SpawnSpec } from "./child.ts";
import type { ExitInfo } from "../errors.ts";

interface BunFileSink {
  write(chunk: Uint8Array): number;
  flush(): number | Promise<number>;
  end(): number | Promise<number>;
}

interface BunSubprocess {
  readonly pid: number;
  readonly stdin: BunFileSink;
  readonly stdout: ReadableStream<Uint8Array>;
  readonly stderr: ReadableStream<Uint8Array>;
}

interface BunSpawnOptions {
  cmd: string[];
  cwd?: string;
  env: Record<string, string>;
  stdin: "pipe";
  stdout: "pipe";
  stderr: "pipe";
  onExit(proc: unknown, exitCode: number | null, signalCode: number | string | null): void;
}

const signalNames = new Map<number, string>(
  Object.entries(constants.signals).map(([name, num]) => [num as number, name]),
);

function signalName(signal: number | string | null): string | null {
  if (signal === null) return null;
  return typeof signal === "number" ? (signalNames.get(signal) ?? `signal ${signal}`) : signal;
}

async function pump(stream: ReadableStream<Uint8Array>, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      onChunk(value);
    }
  } catch {
    // A read error means the pipe is gone; the exit status says why.
  }
}

/** Spawn with Bun.spawn. */
export function spawnBun(spec: SpawnSpec): SpawnedProcess {
  const bun = (globalThis as unknown as { Bun: { spawn(options: BunSpawnOptions): BunSubprocess } }).Bun;
  let resolveExit!: (info: ExitInfo) => void;
  const exit = new Promise<ExitInfo>((r) => (resolveExit = r));
  let proc: BunSubprocess;
  try {
    proc = bun.spawn({
      cmd: [...spec.argv],
      cwd: spec.cwd,
      env: { ...spec.env },
      stdin: "pipe",
      stdout: "pipe",
      stderr: "pipe",
      onExit: (_p, exitCode, signalCode) => resolveExit({ exitCode: signalCode === null ? exitCode : null, signal: signalName(signalCode) }),
    });
  } catch (e) {
    const err = e as { code?: string; message?: string };
    throw new SpawnFailure(err.code ?? "ESPAWN", err.message ?? String(e));
  }
  const stdoutDone = pump(proc.stdout, spec.onStdout);
  const stderrDone = pump(proc.stderr, spec.onStderr);
  const sink = proc.stdin;
  let flushing = false;
  let open = true;
  const flush = (): void => {
    try {
      const pending = sink.flush();
      if (typeof pending !== "number") {
        flushing = true;
        pending.then(
          () => {
            flushing = false;
            if (open) flush();
          },
          () => (open = false),
        );
      }
    } catch {
      open = false;
    }
  };
  return {
    pid: proc.pid,
    write(bytes) {
      if (!open) return;
      try {
        sink.write(bytes);
      } catch {
        open = false;
        return;
      }
      if (!flushing) flush();
    },
    closeStdin() {
      if (!open) return;
      open = false;
      try {
        void Promise.resolve(sink.end()).catch(() => {});
      } catch {
        // Already closed by the child's exit.
      }
    },
    exited: afterOutput(exit, Promise.all([stdoutDone, stderrDone]).then(() => {})),
  };
}
