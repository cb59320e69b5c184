// bench/worker.bench.ts: a bare spawn-and-frame driver against a molt Worker,
// both talking to the same Python worker program (molt.worker, echo handler),
// measured alternately in one run. 100-byte echo; sequential p50/p99 and
// throughput with 64 calls in flight. Prints a table and one JSON line.
//
//   npx bun run bench/worker.bench.ts [--rounds 5]
import { fileURLToPath } from "node:url";
import { spawnWorker } from "../mod.ts";
import { PYTHON_PACKAGE_DIR, resolvePython } from "../src/process/python.ts";

const rounds = Number(process.argv[process.argv.indexOf("--rounds") + 1] || 5);
const SEQUENTIAL = 3000;
const PIPELINED = 40_000;
const IN_FLIGHT = 64;
const handler = fileURLToPath(new URL("../test/fixtures/echo_handler.py", import.meta.url));
const payload = { text: "x".repeat(88) }; // 100 bytes of JSON args

interface Driver {
  call(args: unknown): Promise<unknown>;
  stop(): Promise<unknown>;
}

/** The floor: Bun.spawn, a length-prefixed write per call, a minimal deframer, a Map of resolvers. */
async function bareDriver(): Promise<Driver> {
  const python = await resolvePython("python3");
  const proc = Bun.spawn([python, "-m", "molt.worker", "--handler", handler], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
    env: { ...process.env, PYTHONPATH: PYTHON_PACKAGE_DIR },
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
  const encoder = new TextEncoder();
  let next = 1;
  return {
    call(args) {
      const id = next++;
      const body = encoder.encode(JSON.stringify({ id, command: "echo", args }));
      const frame = new Uint8Array(4 + body.length);
      new DataView(frame.buffer).setUint32(0, body.length);
      frame.set(body, 4);
      return new Promise((resolve) => {
        waiting.set(id, resolve);
        proc.stdin.write(frame);
        proc.stdin.flush();
      });
    },
    async stop() {
      proc.stdin.end();
      await proc.exited;
    },
  };
}

async function moltDriver(): Promise<Driver> {
  const worker = await spawnWorker({ handler, heartbeatMs: 0 });
  return { call: (args) => worker.call("echo", args), stop: () => worker.stop() };
}

async function sequential(d: Driver): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 300; i++) await d.call(payload);
  const samples = new Float64Array(SEQUENTIAL);
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t = performance.now();
    await d.call(payload);
    samples[i] = (performance.now() - t) * 1000;
  }
  samples.sort();
  return { p50: samples[Math.floor(SEQUENTIAL * 0.5)]!, p99: samples[Math.floor(SEQUENTIAL * 0.99)]! };
}

async function pipelined(d: Driver): Promise<number> {
  let sent = 0;
  const t = performance.now();
  const lane = async (): Promise<void> => {
    while (sent < PIPELINED) {
      sent++;
      await d.call(payload);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return PIPELINED / ((performance.now() - t) / 1000);
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const results = { bare: { p50: [] as number[], p99: [] as number[], rate: [] as number[] }, molt: { p50: [] as number[], p99: [] as number[], rate: [] as number[] } };

for (let r = 0; r < rounds; r++) {
  for (const [name, make] of [["bare", bareDriver], ["molt", moltDriver]] as const) {
    const d = await make();
    const seq = await sequential(d);
    const rate = await pipelined(d);
    await d.stop();
    results[name].p50.push(seq.p50);
    results[name].p99.push(seq.p99);
    results[name].rate.push(rate);
  }
}

const row = (name: "bare" | "molt") => ({
  p50: median(results[name].p50),
  p99: median(results[name].p99),
  rate: median(results[name].rate),
});
const bare = row("bare");
const molt = row("molt");
const summary = {
  bench: "worker",
  rounds,
  runtime: `bun ${Bun.version}`,
  bare: { seqP50Us: +bare.p50.toFixed(1), seqP99Us: +bare.p99.toFixed(1), pipelinedPerS: Math.round(bare.rate) },
  molt: { seqP50Us: +molt.p50.toFixed(1), seqP99Us: +molt.p99.toFixed(1), pipelinedPerS: Math.round(molt.rate) },
  addedSeqP50Us: +(molt.p50 - bare.p50).toFixed(1),
  throughputRatio: +(molt.rate / bare.rate).toFixed(3),
  targets: { throughputRatio: 0.9, addedSeqP50Us: 10 },
};
console.log(`worker bench: 100-byte echo, ${rounds} alternating rounds, medians`);
console.log("driver  seq p50 µs  seq p99 µs  msgs/s (64 in flight)");
for (const [name, r] of [["bare", bare], ["molt", molt]] as const) {
  console.log(`${name.padEnd(6)}  ${r.p50.toFixed(1).padStart(10)}  ${r.p99.toFixed(1).padStart(10)}  ${Math.round(r.rate).toString().padStart(21)}`);
}
console.log(`molt/bare throughput ${summary.throughputRatio} (target ≥ 0.9); added p50 ${summary.addedSeqP50Us} µs (target ≤ 10)`);
console.log(JSON.stringify(summary));
