// bench/pool.bench.ts: pools on a 100-byte echo with 64 calls in flight, all
// in one run, alternating rounds so machine noise hits every driver:
//   bare      two bare spawn-and-frame processes (the floor)
//   basic     molt, strategy "basic", 2 workers (one call per worker)
//   enhanced  molt, strategy "enhanced", 2 workers (pipelined)
// plus, under Node, python-shell (JSON mode, one process) and generic-pool
// over python-shell (2 processes), and the time to ready of 8 workers started
// concurrently (enhanced) against one after another (basic).
// Prints a table and one JSON line.
//
//   npx bun run bench/pool.bench.ts [--rounds 5]
import { numberFlag } from "./args.ts";
import { fileURLToPath } from "node:url";
import { createPool, type Strategy } from "../mod.ts";
import { resolvePython } from "../src/process/python.ts";
import { bareProcesses, type Driver, median, pipelined, sequential } from "./bare-driver.ts";

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

type Name = "bare" | "basic" | "enhanced";
const drivers: [Name, () => Promise<Driver>][] = [
  ["bare", () => bareProcesses(handler, WORKERS)],
  ["basic", () => moltPool("basic")],
  ["enhanced", () => moltPool("enhanced")],
];
const samples: Record<Name, { p50: number[]; rate: number[] }> = {
  bare: { p50: [], rate: [] },
  basic: { p50: [], rate: [] },
  enhanced: { p50: [], rate: [] },
};
const peerRates = { pythonShell: [] as number[], genericPool: [] as number[] };
const ready = { concurrent: [] as number[], sequential: [] as number[] };
await resolvePython("python3");

for (let r = 0; r < rounds; r++) {
  for (const [name, make] of drivers) {
    const d = await make();
    samples[name].p50.push((await sequential(d, payload, SEQUENTIAL)).p50);
    samples[name].rate.push(await pipelined(d, payload, PIPELINED, IN_FLIGHT));
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
const summary = {
  bench: "pool",
  rounds,
  runtime: `bun ${Bun.version}`,
  workers: WORKERS,
  inFlight: IN_FLIGHT,
  msgsPerS: {
    bare: Math.round(rate("bare")),
    basic: Math.round(rate("basic")),
    enhanced: Math.round(rate("enhanced")),
    pythonShell: Math.round(median(peerRates.pythonShell)),
    genericPool: Math.round(median(peerRates.genericPool)),
  },
  seqP50Us: { bare: +p50("bare").toFixed(1), basic: +p50("basic").toFixed(1), enhanced: +p50("enhanced").toFixed(1) },
  enhancedOverBare: +(rate("enhanced") / rate("bare")).toFixed(3),
  enhancedOverGenericPool: +(rate("enhanced") / median(peerRates.genericPool)).toFixed(2),
  enhancedOverBasic: +(rate("enhanced") / rate("basic")).toFixed(2),
  addedSeqP50Us: +(p50("enhanced") - p50("bare")).toFixed(1),
  readyMs8: { concurrent: Math.round(median(ready.concurrent)), sequential: Math.round(median(ready.sequential)) },
  targets: { enhancedOverBare: 0.85, enhancedOverGenericPool: 3, addedSeqP50Us: 10 },
};
console.log(`pool bench: 100-byte echo, ${WORKERS} workers, ${IN_FLIGHT} in flight, ${rounds} alternating rounds, medians`);
console.log("driver                      msgs/s   seq p50 µs");
for (const name of ["bare", "basic", "enhanced"] as const) {
  console.log(`${name.padEnd(24)} ${String(summary.msgsPerS[name]).padStart(9)}   ${p50(name).toFixed(1).padStart(10)}`);
}
console.log(`${"python-shell (1 proc)".padEnd(24)} ${String(summary.msgsPerS.pythonShell).padStart(9)}   (node)`);
console.log(`${"generic-pool+python-shell".padEnd(24)} ${String(summary.msgsPerS.genericPool).padStart(9)}   (node)`);
console.log(
  `enhanced/bare ${summary.enhancedOverBare} (target ≥ 0.85); enhanced/generic-pool ${summary.enhancedOverGenericPool} (target ≥ 3); added p50 ${summary.addedSeqP50Us} µs (target ≤ 10)`,
);
console.log(`8 workers ready: concurrent ${summary.readyMs8.concurrent} ms, one after another ${summary.readyMs8.sequential} ms`);
console.log(JSON.stringify(summary));
