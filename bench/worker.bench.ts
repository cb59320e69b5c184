// bench/worker.bench.ts: a bare spawn-and-frame driver against a molt Worker,
// both talking to the same Python worker program (molt.worker, echo handler),
// measured alternately in one run. 100-byte echo; sequential p50/p99 and
// throughput with 64 calls in flight. Prints a table and one JSON line.
//
//   npx bun run bench/worker.bench.ts [--rounds 5]
import { numberFlag } from "./args.ts";
import { fileURLToPath } from "node:url";
import { spawnWorker } from "../mod.ts";
import { bareProcess, type Driver, median, pipelined, sequential } from "./bare-driver.ts";

const rounds = numberFlag("--rounds", 5);
const SEQUENTIAL = 3000;
const PIPELINED = 40_000;
const IN_FLIGHT = 64;
const handler = fileURLToPath(new URL("../test/fixtures/echo_handler.py", import.meta.url));
const payload = { text: "x".repeat(88) }; // 100 bytes of JSON args

async function moltDriver(): Promise<Driver> {
  const worker = await spawnWorker({ handler, heartbeatMs: 0 });
  return { call: (args) => worker.call("echo", args), stop: () => worker.stop() };
}

const results = { bare: { p50: [] as number[], p99: [] as number[], rate: [] as number[] }, molt: { p50: [] as number[], p99: [] as number[], rate: [] as number[] } };

for (let r = 0; r < rounds; r++) {
  for (const [name, make] of [["bare", () => bareProcess(handler)], ["molt", moltDriver]] as const) {
    const d = await make();
    const seq = await sequential(d, payload, SEQUENTIAL);
    const rate = await pipelined(d, payload, PIPELINED, IN_FLIGHT);
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
