// bench/bare-driver.ts: the floor every molt benchmark is compared with —
// Bun.spawn of the same Python worker program, a length-prefixed write per
// call, a minimal deframer and a Map of resolvers. No deadlines, no
// supervision, no checks.
import { resolvePython } from "../src/process/python.ts";
import { pythonPackageDir } from "../src/process/python-package.ts";

/** A way to make one echo call, and to stop. */
export interface Driver {
  call(args: unknown): Promise<unknown>;
  stop(): Promise<unknown>;
}

/** One bare process speaking wire protocol v1. */
export async function bareProcess(handler: string): Promise<Driver> {
  const python = await resolvePython("python3");
  const proc = Bun.spawn([python, "-m", "molt.worker", "--handler", handler], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
    env: { ...process.env, PYTHONPATH: await pythonPackageDir() },
  });
  const waiting = new Map<number, (v: unknown) => void>();
  let hello!: () => void;
  const ready = new Promise<void>((r) => (hello = r));
  void (async () => {
    let buf = new Uint8Array(0);
    const decoder = new TextDecoder();
    for await (const chunk of proc.stdout) {
      const joined = new Uint8Array(buf.length + chunk.length);
      joined.set(buf);
      joined.set(chunk, buf.length);
      let off = 0;
      while (joined.length - off >= 4) {
        const n = new DataView(joined.buffer, off).getUint32(0);
        if (joined.length - off - 4 < n) break;
        const msg = JSON.parse(decoder.decode(joined.subarray(off + 4, off + 4 + n)));
        off += 4 + n;
        if (msg.id === 0) hello();
        else {
          waiting.get(msg.id)!(msg.result);
          waiting.delete(msg.id);
        }
      }
      buf = joined.slice(off);
    }
  })();
  await ready;
  return {
    call: echoCaller(waiting, (frame) => {
      proc.stdin.write(frame);
      proc.stdin.flush();
    }),
    async stop() {
      proc.stdin.end();
      await proc.exited;
    },
  };
}

const encoder = new TextEncoder();

/** The framed request `{id, command: "echo", args}`: a 4-byte big-endian length, then the JSON. */
export function echoFrame(id: number, args: unknown): Uint8Array {
  const body = encoder.encode(JSON.stringify({ id, command: "echo", args }));
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  return frame;
}

/** A driver's `call`: frame an echo request, remember who waits for its id, and hand the frame to `write`. */
export function echoCaller(waiting: Map<number, (result: unknown) => void>, write: (frame: Uint8Array) => void): (args: unknown) => Promise<unknown> {
  let next = 1;
  return (args) => {
    const id = next++;
    const frame = echoFrame(id, args);
    return new Promise((resolve) => {
      waiting.set(id, resolve);
      write(frame);
    });
  };
}

/** Several bare processes, each call to the one with the fewest calls in flight. */
export async function bareProcesses(handler: string, count: number): Promise<Driver> {
  const procs = await Promise.all(Array.from({ length: count }, () => bareProcess(handler)));
  const load = procs.map(() => 0);
  return {
    call(args) {
      let i = 0;
      for (let j = 1; j < load.length; j++) if (load[j]! < load[i]!) i = j;
      load[i]!++;
      return procs[i]!.call(args).finally(() => load[i]!--);
    },
    stop: () => Promise.all(procs.map((p) => p.stop())),
  };
}

/** Sequential latency (µs) after a warm-up. */
export async function sequential(d: Driver, payload: unknown, count: number): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 300; i++) await d.call(payload);
  const samples = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const t = performance.now();
    await d.call(payload);
    samples[i] = (performance.now() - t) * 1000;
  }
  samples.sort();
  return { p50: samples[Math.floor(count * 0.5)]!, p99: samples[Math.floor(count * 0.99)]! };
}

/** Calls per second with `inFlight` lanes, each sending its next call when the last one settled. */
export async function pipelined(d: Driver, payload: unknown, count: number, inFlight: number): Promise<number> {
  return (await pipelinedCpu(d, payload, count, inFlight)).rate;
}

/**
 * `pipelined`, and the host's CPU time per call (µs, user + system of the
 * whole host process, every thread of it, by process.cpuUsage()).
 */
export async function pipelinedCpu(d: Driver, payload: unknown, count: number, inFlight: number): Promise<{ rate: number; cpuUsPerCall: number }> {
  let sent = 0;
  const lane = async (): Promise<void> => {
    while (sent < count) {
      sent++;
      await d.call(payload);
    }
  };
  const cpu = process.cpuUsage();
  const t = performance.now();
  await Promise.all(Array.from({ length: inFlight }, lane));
  const elapsed = performance.now() - t;
  const used = process.cpuUsage(cpu);
  return { rate: count / (elapsed / 1000), cpuUsPerCall: (used.user + used.system) / count };
}

/** The median of a list. */
export const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
