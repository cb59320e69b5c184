// bench/pool.bench.ts: pools on a 100-byte echo with 64 calls in flight, all
// in one run, alternating rounds so machine noise hits every driver:
//   naive     two processes of bench/naive_echo.py (read a frame, answer, flush)
//             behind node:child_process, a write per frame (the floor)
//   bare      two bare spawn-and-frame processes of molt's own Python runtime
//   basic     molt, strategy "basic", 2 workers (one call per worker)
//   enhanced  molt, strategy "enhanced", 2 workers (pipelined)
// plus, under Node, python-shell (JSON mode, one process) and generic-pool
// over python-shell (2 processes), and the time to ready of 8 workers started
// concurrently (enhanced) against one after another (basic).
// Every driver's host CPU per pipelined call (process.cpuUsage(), user +
// system, over the pipelined phase / calls) is printed with its rate.
// Prints a table and one JSON line.
//
//   npx bun run bench/pool.bench.ts [--rounds 5]
import { numberFlag } from "./args.ts";
import { fileURLToPath } from "node:url";
import { createPool, type Strategy } from "../mod.ts";
import { resolvePython } from "../src/process/python.ts";
import { bareProcesses, type Driver, median, pipelinedCpu, sequential } from "./bare-driver.ts";
import { naiveProcesses } from "./naive-driver.ts";

const rounds = numberFlag("--rounds", 5);
const SEQUENTIAL = 2000;
const PIPELINED = 40_000;
const IN_FLIGHT = 64;
const WORKERS = 2;
const handler = fileURLToPath(new URL("../test/fixtures/echo_handler.py", import.meta.url));
const payload = { text: "x".repeat(88) };

async function moltPool(strategy: Strategy): Promise<Driver> {
  const pool = await createPool({
    name: strategy,
    strategy,
    handler,
    size: WORKERS,
    ...(strategy === "enhanced" ? { minReady: WORKERS } : {}),
    heartbeatMs: 0,
    sampleEveryMs: 0,
    queueTimeoutMs: 60_000,
  });
  return { call: (args) => pool.execute("echo", args), stop: () => pool.stop() };
}

async function timeToReady(strategy: Strategy, size: number): Promise<number> {
  const t = performance.now();
  const pool = await createPool({ name: `ready-${strategy}`, strategy, handler, size, ...(strategy === "enhanced" ? { minReady: size } : {}), heartbeatMs: 0, sampleEveryMs: 0 });
  const ms = performance.now() - t;
  await pool.stop();
  return ms;
}

async function peers(): Promise<{ pythonShell: number; genericPool: number }> {
  const python = await resolvePython("python3");
  const script = fileURLToPath(new URL("./peers.node.mjs", import.meta.url));
  const proc = Bun.spawn(["node", script, python, String(PIPELINED / 2), String(IN_FLIGHT), String(WORKERS)], { stdout: "pipe", stderr: "inherit" });
  const out = await new Response(proc.stdout).text();
  if ((await proc.exited) !== 0) throw new Error(`peers.node.mjs failed: ${out}`);
  return JSON.parse(out.trim().split("\n").pop()!);
}

type Name = "naive" | "bare" | "basic" | "enhanced";
const NAMES: readonly Name[] = ["naive", "bare", "basic", "enhanced"];
const python = await resolvePython("python3");
const drivers: [Name, () => Promise<Driver>][] = [
  ["naive", async () => naiveProcesses(python, WORKERS)],
  ["bare", () => bareProcesses(handler, WORKERS)],
  ["basic", () => moltPool("basic")],
  ["enhanced", () => moltPool("enhanced")],
];
const samples = Object.fromEntries(NAMES.map((n) => [n, { p50: [] as number[], rate: [] as number[], cpu: [] as number[] }])) as Record<
  Name,
  { p50: number[]; rate: number[]; cpu: number[] }
>;
const peerRates = { pythonShell: [] as number[], genericPool: [] as number[] };
const ready = { concurrent: [] as number[], sequential: [] as number[] };

for (let r = 0; r < rounds; r++) {
  // Each round starts with a different driver, so none always runs first.
  for (let k = 0; k < drivers.length; k++) {
    const [name, make] = drivers[(k + r) % drivers.length]!;
    const d = await make();
    samples[name].p50.push((await sequential(d, payload, SEQUENTIAL)).p50);
    const p = await pipelinedCpu(d, payload, PIPELINED, IN_FLIGHT);
    samples[name].rate.push(p.rate);
    samples[name].cpu.push(p.cpuUsPerCall);
    await d.stop();
  }
  const p = await peers();
  peerRates.pythonShell.push(p.pythonShell);
  peerRates.genericPool.push(p.genericPool);
  ready.concurrent.push(await timeToReady("enhanced", 8));
  ready.sequential.push(await timeToReady("basic", 8));
}

const rate = (name: Name): number => median(samples[name].rate);
const p50 = (name: Name): number => median(samples[name].p50);
const cpu = (name: Name): number => median(samples[name].cpu);
// The ratio of each round (drivers of one round ran side by side), then their median.
const ratio = (a: Name, b: Name): number => median(samples[a].rate.map((x, i) => x / samples[b].rate[i]!));
const summary = {
  bench: "pool",
  rounds,
  runtime: `bun ${Bun.version}`,
  workers: WORKERS,
  inFlight: IN_FLIGHT,
  msgsPerS: {
    naive: Math.round(rate("naive")),
    bare: Math.round(rate("bare")),
    basic: Math.round(rate("basic")),
    enhanced: Math.round(rate("enhanced")),
    pythonShell: Math.round(median(peerRates.pythonShell)),
    genericPool: Math.round(median(peerRates.genericPool)),
  },
  seqP50Us: Object.fromEntries(NAMES.map((n) => [n, +p50(n).toFixed(1)])) as Record<Name, number>,
  hostCpuUsPerCall: Object.fromEntries(NAMES.map((n) => [n, +cpu(n).toFixed(2)])) as Record<Name, number>,
  enhancedOverNaive: +ratio("enhanced", "naive").toFixed(3),
  enhancedOverNaiveRounds: samples.enhanced.rate.map((x, i) => +(x / samples.naive.rate[i]!).toFixed(3)),
  enhancedOverBare: +ratio("enhanced", "bare").toFixed(3),
  enhancedOverGenericPool: +(rate("enhanced") / median(peerRates.genericPool)).toFixed(2),
  enhancedOverBasic: +(rate("enhanced") / rate("basic")).toFixed(2),
  addedSeqP50Us: +(p50("enhanced") - p50("bare")).toFixed(1),
  readyMs8: { concurrent: Math.round(median(ready.concurrent)), sequential: Math.round(median(ready.sequential)) },
  targets: { enhancedOverNaive: 1.0, enhancedOverNaiveStretch: 1.3, enhancedOverBare: 0.85, enhancedOverGenericPool: 3, addedSeqP50Us: 10 },
};
console.log(`pool bench: 100-byte echo, ${WORKERS} workers, ${IN_FLIGHT} in flight, ${rounds} alternating rounds, medians`);
console.log("driver                      msgs/s   seq p50 µs   host CPU µs/call");
for (const name of NAMES) {
  console.log(`${name.padEnd(24)} ${String(summary.msgsPerS[name]).padStart(9)}   ${p50(name).toFixed(1).padStart(10)}   ${cpu(name).toFixed(1).padStart(16)}`);
}
console.log(`${"python-shell (1 proc)".padEnd(24)} ${String(summary.msgsPerS.pythonShell).padStart(9)}   (node)`);
console.log(`${"generic-pool+python-shell".padEnd(24)} ${String(summary.msgsPerS.genericPool).padStart(9)}   (node)`);
console.log(`enhanced/naive ${summary.enhancedOverNaive} (target ≥ 1.0, stretch ≥ 1.3; rounds ${summary.enhancedOverNaiveRounds.join(", ")})`);
console.log(
  `enhanced/bare ${summary.enhancedOverBare} (target ≥ 0.85); enhanced/generic-pool ${summary.enhancedOverGenericPool} (target ≥ 3); added p50 ${summary.addedSeqP50Us} µs (target ≤ 10)`,
);
console.log(`8 workers ready: concurrent ${summary.readyMs8.concurrent} ms, one after another ${summary.readyMs8.sequential} ms`);
console.log(JSON.stringify(summary));
