// The fleet demo (`npx bun run demo --nodes 3 [--kill-leader] [--fault]
// [--store URL]`): N node processes (examples/fleet-node.ts), each with its
// own V1 and V2 pools and its own traffic, share one rollout through the
// store — the local PostgreSQL server when one answers at 127.0.0.1:5432,
// else a SQLite file. Leader changes and stage moves are printed as they
// happen; `--kill-leader` kills the leader with SIGKILL at stage 2,
// `--fault` makes one node's V2 degrade. Ends with one JSON line.
import { spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import postgres from "postgres";
import { type Decision, openStore } from "../../mod.ts";
import { pct } from "../migration/format.ts";

/** What the demo found, printed as its last line. */
export interface FleetDemoResult {
  readonly nodes: number;
  readonly store: string;
  readonly leaderChanges: number;
  readonly decisions: number;
  readonly duplicateDecisions: number;
  readonly failedCalls: { v1: number; v2: number };
  readonly calls: number;
  readonly outcome: string;
}

const LOCAL_PG = "postgres://postgres@127.0.0.1:5432/postgres";

/** The local PostgreSQL server's URL with a schema of the demo's own, or null when none answers. */
async function localPostgres(): Promise<string | null> {
  const sql = postgres(LOCAL_PG, { max: 1, connect_timeout: 2, onnotice: () => {} });
  try {
    await sql`select 1`;
    return `${LOCAL_PG}?schema=molt_fleet_demo_${process.pid}`;
  } catch {
    return null;
  } finally {
    await sql.end({ timeout: 1 });
  }
}

/** Run the fleet demo; resolves with its result once every node has stopped. */
export async function fleetDemo(args: readonly string[]): Promise<FleetDemoResult> {
  const count = Number(args[args.indexOf("--nodes") + 1] ?? 3);
  if (!Number.isInteger(count) || count < 1 || count > 16) throw new Error(`--nodes must be an integer from 1 to 16, received ${args[args.indexOf("--nodes") + 1]}`);
  const killLeader = args.includes("--kill-leader");
  const fault = args.includes("--fault");
  const given = args.includes("--store") ? args[args.indexOf("--store") + 1] : undefined;
  const dir = join(tmpdir(), `molt-fleet-demo-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const pg = given === undefined ? await localPostgres() : null;
  const url = given ?? pg ?? `sqlite:${join(dir, "molt.db")}`;
  const t0 = performance.now();
  const say = (text: string): void => console.log(`${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s  ${text}`);
  say(`${count} nodes share one rollout through ${url.replace(/\/\/[^@]*@/, "//")}`);

  const store = await openStore(url);
  const plan = { shadowMs: 0, stages: [500, 1000, 2500, 5000, 7500].map((weightBp) => ({ weightBp, minDurationMs: 2000, minSamples: 20 })), failuresToRollback: 2 };
  const script = fileURLToPath(new URL("../../examples/fleet-node.ts", import.meta.url));
  const summaries: { calls: number; failed: { v1: number; v2: number } }[] = [];
  let elected = 0;
  const children = Array.from({ length: count }, (_, i) => {
    const id = `node-${i + 1}`;
    const options = { plan, leaseMs: 2000, ...(fault && i === 1 ? { v2Env: { MOLT_FAULT: "1", MOLT_FAULT_AFTER: "400" } } : {}) };
    const child = spawn(process.execPath, [script, url, id, JSON.stringify(options)], { stdio: ["ignore", "pipe", "inherit"] });
    let buffer = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        const e = JSON.parse(line) as { event: string; term?: number; reason?: string; calls?: number; failed?: { v1: number; v2: number } };
        if (e.event === "fleet.leader_elected") (elected++, say(`${id} leads (term ${e.term})`));
        if (e.event === "fleet.leader_lost") say(`${id} no longer leads: ${e.reason}`);
        if (e.event === "summary") summaries.push({ calls: e.calls!, failed: e.failed! });
      }
    });
    return { id, child, exited: new Promise<void>((r) => child.on("exit", () => r())) };
  });

  let seen = 0;
  let killed = false;
  let outcome = "timeout";
  const deadline = performance.now() + 90_000;
  while (performance.now() < deadline) {
    await new Promise((r) => setTimeout(r, 200));
    const decisions = await store.decisions.list("fleet", { afterId: seen });
    for (const d of decisions) {
      seen = d.id;
      const leader = (d.inputs as { leader?: { nodeId: string } }).leader?.nodeId ?? "?";
      if (d.kind !== "judged") say(`${d.kind.padEnd(22)} ${pct(d.shareFrom)} → ${pct(d.shareTo)}  (by ${leader}) ${d.kind === "started" ? "" : d.reason.slice(0, 160)}`);
      if (d.kind === "promoted" || d.kind === "rolled_back") outcome = d.kind === "promoted" ? "promoted" : "rolledBack";
    }
    if (outcome !== "timeout") break;
    const lease = await store.leases.get("rollout:fleet");
    if (killLeader && !killed && lease?.holder != null && (await store.flags.get("pool_v2_share"))?.value === 1000) {
      const victim = children.find((c) => c.id === lease.holder)!;
      say(`kill -9 ${victim.id} (the leader, pid ${victim.child.pid})`);
      victim.child.kill("SIGKILL");
      killed = true;
    }
  }
  for (const c of children) c.child.kill("SIGTERM");
  await Promise.all(children.map((c) => c.exited));
  const decisions: Decision[] = await store.decisions.list("fleet");
  const keys = decisions.map((d) => `${JSON.stringify((d.inputs as { leader?: unknown }).leader)}@${d.at}:${d.kind}`);
  await store.close();
  if (pg !== null) {
    const sql = postgres(LOCAL_PG, { max: 1, onnotice: () => {} });
    await sql.unsafe(`DROP SCHEMA IF EXISTS ${new URL(url).searchParams.get("schema")} CASCADE`);
    await sql.end({ timeout: 1 });
  }
  return {
    nodes: count,
    store: url.startsWith("sqlite:") ? "sqlite" : "postgres",
    leaderChanges: Math.max(0, elected - 1),
    decisions: decisions.length,
    duplicateDecisions: keys.length - new Set(keys).size,
    failedCalls: summaries.reduce((sum, s) => ({ v1: sum.v1 + s.failed.v1, v2: sum.v2 + s.failed.v2 }), { v1: 0, v2: 0 }),
    calls: summaries.reduce((n, s) => n + s.calls, 0),
    outcome,
  };
}
