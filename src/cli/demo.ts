// The main job (`npx bun run demo`): a whole migration from a V1 pool to a
// V2 pool of real Python workers, with synthetic traffic, stages compressed
// to seconds, a live status line, decommission, and the report written.
// `--fault` makes V2 degrade during the rollout and shows the automatic
// rollback. `--nodes 3` runs a fleet of three replicas sharing one rollout.
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFlags, migrationReport, openStore } from "../../mod.ts";
import { fleetDemo } from "./fleet-demo.ts";
import { demoMigration, demoTraffic } from "./migration-demo.ts";

// `--nodes N`: the fleet demo instead (src/cli/fleet-demo.ts).
if (process.argv.includes("--nodes")) {
  console.log(JSON.stringify(await fleetDemo(process.argv.slice(2))));
  process.exit(0);
}

const fault = process.argv.includes("--fault");
const dir = join(tmpdir(), `molt-demo-${process.pid}`);
mkdirSync(dir, { recursive: true });
const storeUrl = `sqlite:${join(dir, "molt.db")}`;
const tty = process.stdout.isTTY === true;
const t0 = performance.now();
const clock = (): string => `${((performance.now() - t0) / 1000).toFixed(1).padStart(5)} s`;
const say = (text: string): void => void process.stdout.write(`${tty ? "\r\x1b[2K" : ""}${clock()}  ${text}\n`);

const store = await openStore(storeUrl);
const flags = await createFlags({ store, env: {}, pollMs: 200 });
const SECOND = 1000;
const { v1, migration } = await demoMigration(store, flags, { fault, decommissionAfterMs: 2 * SECOND });
say(`V1 (basic) serves on 2 workers: pids ${v1.metrics().workers.map((w) => w.pid).join(", ")}; store ${storeUrl}`);
migration.serve({ pollMs: 200 });

say("migration: preflight, backup, V2 deployed in shadow, verification…");
const started = await migration.run();
// Synthetic traffic: 8 clients, 500 sessions, a sentence per call.
const traffic = demoTraffic(migration);

for (const phase of await store.migrationStatus.list("demo")) say(`  ${phase.phase.padEnd(12)} ${phase.status}`);
say(`rollout started: ${started.rollout?.detail}; V2 runs in shadow first (30% of calls compared). Try: npx bun src/cli/molt.ts --store ${storeUrl} --migration demo status`);

let last = "";
const line = (): string => {
  const r = migration.rollout!.status();
  const w = r.lastJudgement;
  const stage = r.stage === null ? r.detail.replace("active.", "") : `stage ${r.stage}/${r.stages}`;
  const arms = [migration.v2!, v1].map((p) => {
    const m = p.metrics();
    return `${p.name} ${m.calls} calls ${m.calls ? ((100 * (m.calls - m.outcomes.ok)) / m.calls).toFixed(1) : "0.0"}% err p99 ${m.latencyMs.p99.toFixed(1)} ms`;
  });
  return `${migration.status().state} · ${stage} · V2 ${r.shareBp / 100}% · ${(r.elapsedMs / 1000).toFixed(1)} s in stage · ${arms.join(" · ")}${w ? ` · ${w.verdict}` : ""}`;
};

const deadline = performance.now() + 100 * SECOND;
while (performance.now() < deadline) {
  await new Promise((r) => setTimeout(r, 500));
  const before = migration.status().state;
  await migration.tick().catch((e) => say(`tick failed: ${(e as Error).message}`));
  const status = migration.status();
  const now = line();
  if (tty) process.stdout.write(`\r\x1b[2K${clock()}  ${now}`);
  else if (now.split(" · ").slice(0, 3).join() !== last.split(" · ").slice(0, 3).join()) say(now);
  last = now;
  if (status.state !== before) say(`migration ${before} → ${status.state}${status.reason ? `: ${status.reason}` : ""}`);
  if (status.state === "decommission") {
    await new Promise((r) => setTimeout(r, 2.2 * SECOND));
    const done = await migration.decommission().catch((e) => (say(`decommission refused: ${(e as Error).message}`), null));
    if (done !== null) {
      say(`decommissioned V1 (pool ${v1.name} is ${v1.state}); migration ${done.state}`);
      break;
    }
  }
  if (status.state === "rolledBack") {
    const r = migration.rollout!.status();
    say(`automatic rollback: ${r.rollbackReason}`);
    const rollback = (await store.decisions.list("demo", { kinds: ["rolled_back"] })).at(-1);
    for (const step of (rollback?.inputs as { report?: { steps: { step: string; durationMs: number; detail: string }[] } }).report?.steps ?? []) {
      say(`  ${step.step.padEnd(10)} ${step.durationMs.toFixed(1).padStart(7)} ms  ${step.detail}`);
    }
    break;
  }
}
await traffic.stop();

// After stop: the last window of calls is written, so the report covers every call.
await migration.stop({ stopV2: true });
const report = join(dir, "report.md");
writeFileSync(report, await migrationReport(store, "demo"));
writeFileSync(join(dir, "report.html"), await migrationReport(store, "demo", { format: "html" }));
say(`${traffic.sent()} calls sent, ${traffic.failed()} failed (each with a typed error); report written to ${report} (and report.html beside it)`);
if (v1.state !== "stopped") await v1.stop();
await flags.close();
await store.close();
if (process.argv.includes("--clean")) rmSync(dir, { recursive: true, force: true });
say("done: every worker stopped, no process left behind");
