// bench/payload.bench.ts: bytes through a worker and back, as JSON
// against as binary attachments (protocol minor 3). The JSON path is what a
// caller did before: the bytes as a base64 string in the args, encoded
// before the call and the echoed string decoded after it; the binary path
// passes the Uint8Array itself and gets a Uint8Array back, with the worker's
// defaults (under Bun on Linux, bytes up to the 4 MiB of a ring cross in
// memory shared with the process: sharedMemoryBytes). Beside them, the
// binary path through the pipes alone (sharedMemoryBytes 0: what Deno and
// Node always use) and the floor (bench/bytes-floor.ts): the same bytes
// echoed by a bare Python process through the same kind of pipes, with no
// JSON and no checks. All call the same `echo` command
// (test/fixtures/echo_handler.py), each path on a worker of its own, one
// call at a time, for payloads of 1 KB, 100 KB, 1 MB and 10 MB, each path
// and size in a process of its own (this file with --path), measured after
// as many calls again not counted, alternating in each round.
//
// Prints MB/s of payload per round trip for each (median of the rounds),
// the binary/JSON ratio (target: at least 10x at 1 MB), the pipes' and the
// floor's ratios to JSON, the pipes against the floor, and the host's page
// faults per call on each path, with what one costs on this machine: a
// path that allocates fresh memory pays for each of its pages, and on a VM
// that returns freed memory to its hypervisor that is most of the time of
// a large payload. Then one JSON line.
//
//   npx bun run bench/payload.bench.ts [--rounds 3]
//   npx deno run --allow-run --allow-read --allow-env bench/payload.bench.ts
import { Buffer } from "node:buffer";
import { spawnSync } from "node:child_process";
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

// Minor page faults of this process so far (Bun, Node; NaN where the runtime does not say).
const pageFaults = (): number => (process as { resourceUsage?: () => { minorPageFault: number } }).resourceUsage?.().minorPageFault ?? NaN;
const paths = ["json", "binary", "pipes", "floor"] as const;
type Path = (typeof paths)[number];

/** How one path echoes: the binary path with the worker's defaults, the pipes with sharedMemoryBytes 0, the floor bare. */
async function echoer(path: Path): Promise<{ echo(bytes: Uint8Array): Promise<number>; stop(): Promise<void> }> {
  if (path === "floor") return bytesFloor(await resolvePython("python3"));
  const worker = await spawnWorker({ handler, heartbeatMs: 0, callTimeoutMs: 120_000, ...(path === "pipes" ? { sharedMemoryBytes: 0 } : {}) });
  const echo = path === "json"
    ? async (bytes: Uint8Array): Promise<number> => {
      const echoed = await worker.call<{ data: string }>("echo", { data: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString("base64") });
      return Buffer.from(echoed.data, "base64").length;
    }
    : async (bytes: Uint8Array): Promise<number> => (await worker.call<{ data: Uint8Array }>("echo", { data: bytes })).data.length;
  return { echo, stop: async () => void (await worker.stop()) };
}

/**
 * One path and size, in this process (`--path`): MB/s and host page faults per call, after as many
 * calls again not counted (a process's first megabytes are all fresh memory, every page a fault:
 * measured from the start, every path ran at the speed of new pages).
 */
async function measure(path: Path, size: number): Promise<{ mbps: number; faults: number }> {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 2654435761) >>> 24;
  const echoes = await echoer(path);
  try {
    const calls = callsFor(size);
    for (let i = 0; i < calls; i++) await echoes.echo(bytes);
    const f = pageFaults();
    const t = performance.now();
    for (let i = 0; i < calls; i++) {
      if ((await echoes.echo(bytes)) !== size) throw new Error(`${path} echoed the wrong length`);
    }
    return { mbps: (size * calls) / 1e6 / ((performance.now() - t) / 1000), faults: (pageFaults() - f) / calls };
  } finally {
    await echoes.stop();
  }
}

const only = process.argv.indexOf("--path");
if (only !== -1) {
  console.log(JSON.stringify(await measure(process.argv[only + 1] as Path, numberFlag("--size", KB))));
  process.exit(0);
}

/**
 * Each measurement runs in a process of its own, this file again with `--path`: in one process, a
 * path paid for the garbage another left (JSON's megabytes of strings, collected during the next
 * path's calls, and the pages the allocator handed back to the system), by as much as the order of
 * the paths decided.
 */
function inChild(path: Path, size: number): { mbps: number; faults: number } {
  const file = fileURLToPath(import.meta.url);
  const args = ["--path", path, "--size", String(size)];
  const g = globalThis as { Bun?: unknown; Deno?: { execPath(): string } };
  const argv = g.Bun !== undefined
    ? [process.execPath, "run", file, ...args]
    : g.Deno !== undefined
    ? [g.Deno.execPath(), "run", "--allow-run", "--allow-read", "--allow-env", file, ...args]
    : [process.execPath, file, ...args];
  const child = spawnSync(argv[0]!, argv.slice(1), { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  if (child.status !== 0) throw new Error(`${path} at ${label(size)}: the measuring process exited ${child.status}`);
  return JSON.parse(child.stdout.trim().split("\n").at(-1)!);
}

const runs = (): Record<Path, number[]> => ({ json: [], binary: [], pipes: [], floor: [] });
const mbps: Record<string, Record<Path, number[]>> = Object.fromEntries(sizes.map((s) => [label(s), runs()]));
const faults: Record<string, Record<Path, number[]>> = Object.fromEntries(sizes.map((s) => [label(s), runs()]));

/** Microseconds per page fault of fresh memory here: 64 MiB allocated, then one byte written per 4 KiB page. */
function faultCost(): number {
  const before = pageFaults();
  const t = performance.now();
  const fresh = new Uint8Array(64 * MB);
  for (let i = 0; i < fresh.length; i += 4096) fresh[i] = 1;
  return ((performance.now() - t) * 1000) / (pageFaults() - before);
}

for (let r = 0; r < rounds; r++) {
  for (const size of sizes) {
    for (const path of r % 2 === 0 ? paths : [...paths].reverse()) {
      const m = inChild(path, size);
      mbps[label(size)]![path].push(m.mbps);
      faults[label(size)]![path].push(m.faults);
    }
  }
}
const microsPerFault = faultCost();

const round1 = (x: number): number => Math.round(x * 10) / 10;
const rows = sizes.map((size) => {
  const m = mbps[label(size)]!;
  const f = faults[label(size)]!;
  const [json, binary, pipes, bare] = [median(m.json), median(m.binary), median(m.pipes), median(m.floor)];
  return {
    size: label(size),
    bytes: size,
    calls: callsFor(size),
    jsonMBps: round1(json),
    binaryMBps: round1(binary),
    pipesMBps: round1(pipes),
    floorMBps: round1(bare),
    ratio: round1(binary / json),
    pipesRatio: round1(pipes / json),
    floorRatio: round1(bare / json),
    pipesOfFloor: Math.round((pipes / bare) * 100) / 100,
    faultsPerCall: { json: Math.round(median(f.json)), binary: Math.round(median(f.binary)), pipes: Math.round(median(f.pipes)) },
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
  microsPerPageFault: round1(microsPerFault),
  sizes: rows,
  targets: { ratioAt1MB: 10 },
};
console.log(`payload bench: bytes echoed one call at a time, each path in a process of its own, ${rounds} rounds, medians (MB/s of payload per round trip)`);
const heads = ["JSON (base64)", "binary", "pipes", "floor", "ratio", "pipes/JSON", "floor/JSON", "pipes/floor", "faults J/B/P"];
console.log(`${"size".padEnd(8)} ${heads.map((h) => h.padStart(13)).join(" ")}`);
for (const row of rows) {
  const cells = [row.jsonMBps, row.binaryMBps, row.pipesMBps, row.floorMBps].map((x) => x.toFixed(1));
  const ratios = [row.ratio, row.pipesRatio, row.floorRatio].map((x) => `${x.toFixed(1)}x`);
  const f = row.faultsPerCall;
  console.log(`${row.size.padEnd(8)} ${[...cells, ...ratios, row.pipesOfFloor.toFixed(2), `${f.json}/${f.binary}/${f.pipes}`].map((c) => c.padStart(13)).join(" ")}`);
}
console.log(`host page faults per call (JSON/binary/pipes) at ${round1(microsPerFault)} us each for fresh memory here`);
console.log(JSON.stringify(summary));
