// bench/fleet.bench.ts: a fleet of real node processes (examples/fleet-node.ts),
// per backend (PostgreSQL at 127.0.0.1:5432 or MOLT_BENCH_PG_URL, and a shared
// SQLite file), in one run:
//   share     a share change written to the store until every one of 3 nodes
//             serves it: p50 and p99 over --changes changes (target p99 <= 1 s on PostgreSQL)
//   failover  the leader killed with SIGKILL until the new leader's first decision,
//             over --kills kills (target <= the lease time + one window)
// and, in this process, judging the merged windows of 20 nodes (target <= 5 ms):
//   merge     FleetArms.read over 20 nodes x 2 arms x 12 windows, store read included
//   judge     merging and judging alone, rows already read, the histograms' sums kept
//             between judgements (as the leader keeps them)
// Prints a table and one JSON line.
//
//   npx bun run bench/fleet.bench.ts [--changes 100] [--kills 5] [--only merge]
import * as hdr from "hdr-histogram-js";
import { createPool, openStore, judge, type Store } from "../mod.ts";
import { FleetArms, mergeWindows, RunningSums } from "../src/fleet/fleet-arms.ts";
import type { NodeWindow } from "../src/fleet/node-window.ts";
import { newHistogram } from "../src/telemetry/metrics-window.ts";
import { decisionsOf, nextLeader, type NodeProcess, startNode, stopNodes, termOf } from "../test/fleet/helpers.ts";
import { waitFor } from "../test/helpers.ts";
import { BACKENDS } from "../test/store/backends.ts";
import { numberFlag } from "./args.ts";

const CHANGES = numberFlag("--changes", 100);
const KILLS = numberFlag("--kills", 5);
const LEASE_MS = 1500;
const WINDOW_MS = 500;

const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
};

/** Share changes until every node serves each: ms per change (the slowest node's). */
async function share(url: string): Promise<number[]> {
  // No judging during the bench: the leader would set the share back to its stage's.
  const nodes = await Promise.all(["a", "b", "c"].map((id) => startNode(url, id, { autoStart: false, judgeEveryMs: 600_000, traffic: 1 })));
  const store = await openStore(url);
  const out: number[] = [];
  try {
    for (let i = 1; i <= CHANGES; i++) {
      const bp = (i % 50) * 100 + 100;
      const t = Date.now();
      await store.flags.set("pool_v2_share", bp, { by: "bench" });
      const heard = (n: NodeProcess) => n.lines.some((l) => l.event === "share" && l.bp === bp && l.at >= t);
      if (!(await waitFor(() => nodes.every(heard), 10_000))) throw new Error(`share ${bp} not heard by every node within 10 s`);
      out.push(Math.max(...nodes.map((n) => n.lines.findLast((l) => l.event === "share" && l.bp === bp)!.at - t)));
    }
  } finally {
    await store.close();
    await stopNodes(nodes);
  }
  return out;
}

/** Kill the leader, time until the next leader's first decision; ms per kill. */
async function failover(url: string): Promise<number[]> {
  const plan = { shadowMs: 0, stages: [{ weightBp: 2000, minDurationMs: 600_000, minSamples: 20 }, { weightBp: 10_000, minDurationMs: 0, minSamples: 0 }] };
  const nodes: NodeProcess[] = await Promise.all(["a", "b", "c"].map((id) => startNode(url, id, { plan, leaseMs: LEASE_MS, windowMs: WINDOW_MS })));
  const out: number[] = [];
  try {
    let leader = await nextLeader(url, 0, null, 10_000);
    for (let k = 0; k < KILLS; k++) {
      await waitFor(async () => (await decisionsOf(url)).some((d) => termOf(d) === leader!.term && d.kind === "judged"), 20_000);
      const t = Date.now();
      nodes.find((n) => n.id === leader!.holder)!.signal("SIGKILL");
      const next = await nextLeader(url, leader!.term, leader!.holder, 20_000);
      if (next === null) throw new Error("no new leader within 20 s");
      let first = 0;
      await waitFor(async () => ((first = (await decisionsOf(url)).find((d) => termOf(d) === next.term)?.at ?? 0) > 0), 20_000);
      out.push(first - t);
      leader = next;
      nodes.push(await startNode(url, `spare${k}`, { plan, leaseMs: LEASE_MS, windowMs: WINDOW_MS }));
    }
  } finally {
    await stopNodes(nodes);
  }
  return out;
}

/** A node's window with `calls` calls of latencies around `ms`. */
function window(from: number, calls: number, ms: number): NodeWindow {
  const h = newHistogram();
  const sample: number[] = [];
  for (let i = 0; i < calls; i++) {
    const v = ms * (0.5 + ((i * 7919) % 1000) / 1000);
    h.recordValue(Math.round(v * 1000));
    if (sample.length < 128) sample.push(v);
  }
  const latencyHistogram = hdr.encodeIntoCompressedBase64(h);
  h.destroy();
  return {
    from, to: from + 5000, calls, outcomes: { ok: calls - 2, python_error: 2, failed: 0, rejected: 0 }, categories: { python: 2 }, tags: { PythonError: 2 }, crashes: 0, restarts: 0,
    saturated: 0, queued: 0, latencyHistogram, queueWaitHistogram: "", latencySample: sample, target: "bench", workers: 2, cpuPercent: 40, memoryPercent: 1,
    rss: [{ at: from, bytes: 50e6 }], rssOf: "1,2", sessions: { calls: 0, moved: 0, rebound: 0 }, affinity: "none", breaker: "closed", shadow: null,
  };
}

/** Judging 20 nodes' merged windows: [ms per read with the store, ms per merge + judge]. */
async function merge(): Promise<[number[], number[]]> {
  const store: Store = await openStore(":memory:");
  const now = Date.now();
  for (let n = 0; n < 20; n++) {
    await store.nodes.join({ nodeId: `n${n}`, target: "bench", host: "h", pid: n, version: "0", role: "follower", arms: ["v1", "v2"], heartbeatMs: 60_000 });
    for (let w = 0; w < 12; w++) {
      const from = now - 60_000 + w * 5000;
      for (const pool of ["v1", "v2"]) await store.poolMetrics.record({ poolName: pool, nodeId: `n${n}`, timestamp: from, metrics: window(from, 400, pool === "v1" ? 8 : 6) as never });
    }
  }
  const common = { handler: "./test/fixtures/echo_handler.py", size: 1, heartbeatMs: 0 };
  const [v1, v2] = await Promise.all([createPool({ name: "v1", strategy: "basic", ...common }), createPool({ name: "v2", ...common })]);
  const arms = new FleetArms({ store, v1, v2, target: "bench", spanMs: 61_000, noiseFloor: 0, countedBefore: 0 });
  const reads: number[] = [];
  const judged: number[] = [];
  const read = async (pool: string) => (await store.poolMetrics.range(pool, { from: 0 })).map((e) => ({ key: `${pool}:${e.nodeId}@${e.timestamp}`, nodeId: e.nodeId, w: e.metrics as unknown as NodeWindow }));
  const [rows1, rows2] = [await read("v1"), await read("v2")];
  // As the leader judges: sums kept between judgements, each window added once.
  const sums = new RunningSums();
  for (let i = 0; i < 30; i++) {
    let t = performance.now();
    const r = await arms.read(now);
    reads.push(performance.now() - t);
    if (r.v2.window.calls !== 20 * 12 * 400) throw new Error(`merged ${r.v2.window.calls} calls`);
    t = performance.now();
    judge({ v1: mergeWindows(rows1, sums.of("v1")), v2: mergeWindows(rows2, sums.of("v2")) });
    judged.push(performance.now() - t);
  }
  await Promise.all([v1.stop(), v2.stop()]);
  await store.close();
  return [reads, judged];
}

const only = process.argv.includes("--only") ? process.argv[process.argv.indexOf("--only") + 1] : null;
const results: Record<string, unknown> = {};
for (const backend of only === "merge" ? [] : BACKENDS) {
  if (backend.skip !== null) {
    console.log(`${backend.name}: skipped (${backend.skip})`);
    continue;
  }
  const s = await share(backend.fresh());
  const f = await failover(backend.fresh());
  results[backend.name] = {
    shareP50Ms: quantile(s, 0.5), shareP99Ms: quantile(s, 0.99), shareMaxMs: Math.max(...s), changes: s.length,
    failoverMs: f, failoverMaxMs: Math.max(...f), failoverTargetMs: LEASE_MS + WINDOW_MS,
  };
  await backend.cleanup();
}
const [reads, judged] = await merge();
results.merge20 = { readP50Ms: quantile(reads, 0.5), readMaxMs: Math.max(...reads), mergeJudgeP50Ms: quantile(judged, 0.5), mergeJudgeMaxMs: Math.max(...judged), targetMs: 5 };
for (const [k, v] of Object.entries(results)) console.log(k.padEnd(10), JSON.stringify(v));
console.log(JSON.stringify(results));
