// bench/payload.bench.ts: bytes through one worker and back, as JSON
// against as binary attachments (protocol minor 3). The JSON path is what a
// caller did before: the bytes as a base64 string in the args, encoded
// before the call and the echoed string decoded after it; the binary path
// passes the Uint8Array itself and gets a Uint8Array back. Both call the
// same `echo` command (test/fixtures/echo_handler.py), one call at a time,
// for payloads of 1 KB, 100 KB, 1 MB and 10 MB, alternating in each round.
// Beside them run the binary path with shared memory (a second worker with
// sharedMemoryBytes of 16 MiB: the bytes cross in rings mapped by both
// processes, under Bun; elsewhere it is the pipes again) and the floor
// (bench/bytes-floor.ts): the same bytes echoed by a bare Python process
// through the same kind of pipes, with no JSON and no checks. Prints MB/s of payload per round trip for each (median of the
// rounds), the binary/JSON ratio (target: at least 10x at 1 MB) with pipes
// and with shared memory, the floor's ratio to JSON (the most that any path
// over these pipes reaches in this run) and binary against the floor, and
// one JSON line.
//
//   npx bun run bench/payload.bench.ts [--rounds 3]
//   npx deno run --allow-run --allow-read --allow-env bench/payload.bench.ts
import { Buffer } from "node:buffer";
import { fileURLToPath } from "node:url";
import { spawnWorker } from "../mod.ts";
import { numberFlag } from "./args.ts";
import { median } from "./bare-driver.ts";
import { bytesFloor } from "./bytes-floor.ts";
import { resolvePython } from "../src/process/python.ts";

const rounds = numberFlag("--rounds", 3);
const handler = fileURLToPath(new URL("../test/fixtures/echo_handler.py", import.meta.url));
const KB = 1024;
const MB = 1024 * KB;
const sizes = [KB, 100 * KB, MB, 10 * MB] as const;
// About 32 MB through per size and path in each round, at least 4 calls and at most 2,000.
const callsFor = (size: number): number => Math.min(2000, Math.max(4, Math.round((32 * MB) / size)));
const label = (size: number): string => (size >= MB ? `${size / MB} MB` : `${size / KB} KB`);

const worker = await spawnWorker({ handler, heartbeatMs: 0, callTimeoutMs: 120_000 });
const shared = await spawnWorker({ handler, heartbeatMs: 0, callTimeoutMs: 120_000, sharedMemoryBytes: 16 * MB });
const floor = bytesFloor(await resolvePython("python3"));

const paths = {
  json: async (bytes: Uint8Array): Promise<number> => {
    const echoed = await worker.call<{ data: string }>("echo", { data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64") });
    return Buffer.from(echoed.data, "base64").length;
  },
  binary: async (bytes: Uint8Array): Promise<number> => (await worker.call<{ data: Uint8Array }>("echo", { data: bytes })).data.length,
  shared: async (bytes: Uint8Array): Promise<number> => (await shared.call<{ data: Uint8Array }>("echo", { data: bytes })).data.length,
  floor: (bytes: Uint8Array): Promise<number> => floor.echo(bytes),
};
type Path = keyof typeof paths;

const mbps: Record<string, Record<Path, number[]>> = Object.fromEntries(sizes.map((s) => [label(s), { json: [], binary: [], shared: [], floor: [] }]));
const payloads = new Map(sizes.map((size) => {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 2654435761) >>> 24;
  return [size, bytes];
}));

// One warm-up call each: the worker's first large frame, the host's first base64 of that size.
for (const size of sizes) for (const path of Object.keys(paths) as Path[]) await paths[path](payloads.get(size)!);

for (let r = 0; r < rounds; r++) {
  for (const size of sizes) {
    const order: Path[] = r % 2 === 0 ? ["json", "binary", "shared", "floor"] : ["floor", "shared", "binary", "json"];
    for (const path of order) {
      const calls = callsFor(size);
      const bytes = payloads.get(size)!;
      const t = performance.now();
      for (let i = 0; i < calls; i++) {
        if ((await paths[path](bytes)) !== size) throw new Error(`${path} echoed the wrong length`);
      }
      mbps[label(size)]![path].push((size * calls) / 1e6 / ((performance.now() - t) / 1000));
    }
  }
}
await worker.stop();
await shared.stop();
await floor.stop();

const rows = sizes.map((size) => {
  const m = mbps[label(size)]!;
  const json = median(m.json);
  const binary = median(m.binary);
  const bare = median(m.floor);
  const ringed = median(m.shared);
  const round1 = (x: number): number => Math.round(x * 10) / 10;
  return {
    size: label(size),
    bytes: size,
    calls: callsFor(size),
    jsonMBps: round1(json),
    binaryMBps: round1(binary),
    sharedMBps: round1(ringed),
    floorMBps: round1(bare),
    ratio: round1(binary / json),
    sharedRatio: round1(ringed / json),
    floorRatio: round1(bare / json),
    ofFloor: Math.round((binary / bare) * 100) / 100,
  };
});
function runtimeName(): string {
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Bun !== undefined) return `bun ${g.Bun.version}`;
  return g.Deno !== undefined ? `deno ${g.Deno.version.deno}` : `node ${process.versions.node}`;
}

const summary = {
  bench: "payload",
  rounds,
  runtime: runtimeName(),
  sizes: rows,
  targets: { ratioAt1MB: 10 },
};
console.log(`payload bench: bytes echoed by one worker, one call at a time, ${rounds} alternating rounds, medians (MB/s of payload per round trip)`);
const heads = ["JSON (base64)", "binary", "shared", "floor", "ratio", "shared/JSON", "floor/JSON", "of floor"];
console.log(`${"size".padEnd(8)} ${heads.map((h) => h.padStart(13)).join(" ")}`);
for (const row of rows) {
  const cells = [row.jsonMBps, row.binaryMBps, row.sharedMBps, row.floorMBps].map((x) => x.toFixed(1));
  const ratios = [row.ratio, row.sharedRatio, row.floorRatio].map((x) => `${x.toFixed(1)}x`);
  console.log(`${row.size.padEnd(8)} ${[...cells, ...ratios, row.ofFloor.toFixed(2)].map((c) => c.padStart(13)).join(" ")}`);
}
console.log(JSON.stringify(summary));
