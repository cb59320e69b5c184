// bench/naive-driver.ts: the floor of bench/pool.bench.ts — what a user writes
// without molt. node:child_process (the same under Bun, Deno and Node) starts
// bench/naive_echo.py; each call is framed (4-byte big-endian length + JSON)
// and written as it comes, answers are deframed and matched by id, calls go
// round-robin over the processes. No deadlines, no supervision, no checks.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { type Driver, echoCaller } from "./bare-driver.ts";

const script = fileURLToPath(new URL("./naive_echo.py", import.meta.url));

/** One naive process: write a frame per call, match answers by id. */
export function naiveProcess(python: string): Driver {
  const child = spawn(python, [script], { stdio: ["pipe", "pipe", "inherit"] });
  const waiting = new Map<number, (v: unknown) => void>();
  const decoder = new TextDecoder();
  let buf = new Uint8Array(0);
  child.stdout!.on("data", (chunk: Uint8Array) => {
    let joined = chunk;
    if (buf.length > 0) {
      joined = new Uint8Array(buf.length + chunk.length);
      joined.set(buf);
      joined.set(chunk, buf.length);
    }
    let off = 0;
    while (joined.length - off >= 4) {
      const n = ((joined[off]! << 24) | (joined[off + 1]! << 16) | (joined[off + 2]! << 8) | joined[off + 3]!) >>> 0;
      if (joined.length - off - 4 < n) break;
      const msg = JSON.parse(decoder.decode(joined.subarray(off + 4, off + 4 + n)));
      off += 4 + n;
      const resolve = waiting.get(msg.id)!;
      waiting.delete(msg.id);
      resolve(msg.result);
    }
    buf = joined.slice(off);
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  return {
    call: echoCaller(waiting, (frame) => void child.stdin!.write(frame)),
    stop() {
      child.stdin!.end();
      return exited;
    },
  };
}

/** `count` naive processes, calls spread round-robin. */
export function naiveProcesses(python: string, count: number): Driver {
  const procs = Array.from({ length: count }, () => naiveProcess(python));
  let turn = 0;
  return {
    call(args) {
      const p = procs[turn]!;
      turn = (turn + 1) % procs.length;
      return p.call(args);
    },
    stop: () => Promise.all(procs.map((p) => p.stop())),
  };
}
