// bench/bytes-floor.ts: the floor of bench/payload.bench.ts — a bare echo of
// framed bytes (bench/bytes_echo.py) through the runtime's own fastest spawn
// (Bun.spawn under Bun, node:child_process elsewhere), one call at a time,
// with no JSON, checks or supervision. Whatever the binary path reaches is
// measured against this: no transport over these pipes does better.
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const script = fileURLToPath(new URL("./bytes_echo.py", import.meta.url));

interface BunLike {
  spawn(options: { cmd: string[]; stdin: "pipe"; stdout: "pipe"; stderr: "inherit" }): {
    stdin: { write(bytes: Uint8Array): number; flush(): unknown; end(): unknown };
    stdout: ReadableStream<Uint8Array>;
    exited: Promise<number>;
  };
}

/** A bare echo process: `echo(bytes)` resolves with the length echoed back. */
export interface BytesFloor {
  echo(bytes: Uint8Array): Promise<number>;
  stop(): Promise<void>;
}

/** The 4-byte big-endian length written before the bytes themselves (which are not copied), as molt does. */
function header(bytes: Uint8Array): Uint8Array {
  const head = new Uint8Array(4);
  new DataView(head.buffer).setUint32(0, bytes.length);
  return head;
}

/** Collects one echoed frame from chunks: the whole frame, header included, into one buffer. */
function collector(): { expect(length: number, done: (n: number) => void): void; push(chunk: Uint8Array): void } {
  let body = new Uint8Array(0);
  let got = 0;
  let done: (n: number) => void = () => {};
  return {
    expect(length, resolve) {
      body = new Uint8Array(4 + length);
      got = 0;
      done = resolve;
    },
    push(chunk) {
      body.set(chunk, got);
      got += chunk.length;
      if (got === body.length) done(body.length - 4);
    },
  };
}

/** Start the bare echo with `python`. */
export function bytesFloor(python: string): BytesFloor {
  const bun = (globalThis as { Bun?: BunLike }).Bun;
  const incoming = collector();
  if (bun !== undefined) {
    const proc = bun.spawn({ cmd: [python, script], stdin: "pipe", stdout: "pipe", stderr: "inherit" });
    const reader = proc.stdout.getReader();
    void (async () => {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        incoming.push(value);
      }
    })();
    return {
      echo(bytes) {
        return new Promise((resolve) => {
          incoming.expect(bytes.length, resolve);
          // Flushed apart: bytes written after a buffered header would be copied in behind it.
          proc.stdin.write(header(bytes));
          proc.stdin.flush();
          proc.stdin.write(bytes);
          proc.stdin.flush();
        });
      },
      async stop() {
        await proc.stdin.end();
        await proc.exited;
      },
    };
  }
  const child = spawn(python, [script], { stdio: ["pipe", "pipe", "inherit"] });
  child.stdout!.on("data", (chunk: Uint8Array) => incoming.push(chunk));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return {
    echo(bytes) {
      return new Promise((resolve) => {
        incoming.expect(bytes.length, resolve);
        child.stdin!.write(header(bytes));
        child.stdin!.write(bytes);
      });
    },
    stop() {
      child.stdin!.end();
      return exited;
    },
  };
}
