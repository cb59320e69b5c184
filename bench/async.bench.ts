// bench/async.bench.ts: 1,000 calls in flight on ONE worker, each waiting
// 100 ms (an LLM or network call stands in): an `async def` handler on the
// worker's event loop (concurrency 1,000) against the same wait in a
// synchronous handler on 64 and on 1,000 handler threads, alternately in
// one run. Prints the wall time of each batch (target: async under 0.5 s),
// the host's heap growth with 1,000 calls in flight, and one JSON line.
//
//   npx bun run bench/async.bench.ts [--rounds 3]
import { fileURLToPath } from "node:url";
import { spawnWorker } from "../mod.ts";
import { numberFlag } from "./args.ts";
import { median } from "./bare-driver.ts";

const rounds = numberFlag("--rounds", 3);
const CALLS = 1000;
const WAIT_S = 0.1;
const handler = fileURLToPath(new URL("../test/fixtures/async_handler.py", import.meta.url));

const variants = [
  { name: "async, concurrency 1000", command: "nap", options: { concurrency: CALLS } },
  { name: "sync, 64 threads", command: "nap_sync", options: { threads: 64 } },
  { name: "sync, 1000 threads", command: "nap_sync", options: { threads: CALLS } },
] as const;

// A full collection before each heap reading, so that the difference is what the calls in flight hold.
const collect = (): number => {
  (globalThis as { Bun?: { gc(full: boolean): void } }).Bun?.gc(true);
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed;
};

const wall: Record<string, number[]> = Object.fromEntries(variants.map((v) => [v.name, []]));
const heap: number[] = [];
for (let r = 0; r < rounds; r++) {
  for (const v of variants) {
    const worker = await spawnWorker({ handler, heartbeatMs: 0, callTimeoutMs: 120_000, ...v.options });
    await worker.call(v.command, { seconds: 0 });
    const t = performance.now();
    const calls = Array.from({ length: CALLS }, () => worker.call(v.command, { seconds: WAIT_S }));
    await Promise.all(calls);
    wall[v.name]!.push(performance.now() - t);
    await worker.stop();
  }
}

// Apart from the timed runs (a full collection takes milliseconds): what calls in flight hold on the host,
// measured over 10,000 of them (1,000 are lost in the heap's noise).
const HELD = 10_000;
for (let r = 0; r < rounds; r++) {
  const worker = await spawnWorker({ handler, heartbeatMs: 0, concurrency: HELD });
  await worker.call("nap", { seconds: 0 });
  const before = collect();
  const calls = Array.from({ length: HELD }, () => worker.call("nap", { seconds: 1 }));
  heap.push((collect() - before) / HELD);
  await Promise.all(calls);
  await worker.stop();
}

const ms = (name: string) => median(wall[name]!);
const summary = {
  bench: "async",
  rounds,
  runtime: typeof Bun !== "undefined" ? `bun ${Bun.version}` : `node ${process.versions.node}`,
  calls: CALLS,
  waitMs: WAIT_S * 1000,
  wallMs: Object.fromEntries(variants.map((v) => [v.name, Math.round(ms(v.name))])),
  hostHeapBytesPerCallInFlight: Math.round(median(heap)),
  targets: { asyncWallMs: 500 },
};
console.log(`async bench: ${CALLS} calls of ${WAIT_S * 1000} ms in flight on one worker, ${rounds} alternating rounds, medians`);
for (const v of variants) console.log(`${v.name.padEnd(24)} ${Math.round(ms(v.name)).toString().padStart(6)} ms`);
console.log(`host heap per call in flight: ${summary.hostHeapBytesPerCallInFlight} bytes (${Math.round(summary.hostHeapBytesPerCallInFlight * CALLS / 1024)} KiB per 1,000)`);
console.log(JSON.stringify(summary));
