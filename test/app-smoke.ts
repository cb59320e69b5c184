// Run by scripts/install-test.sh in an application that installed the npm
// package, under Node 22 (type stripping), Bun and Deno: a worker, a pool,
// the store on a SQLite file, flags, the router, and a migration from start
// to decommission, then the CLI reading it. Imports "molt" as a user would.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFlags, createMigration, createPool, migrationReport, openStore, spawnWorker } from "molt";

const handler = "./handler.py";
const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined" ? "deno" : "node";
const dir = mkdtempSync(join(tmpdir(), "molt-app-"));
try {
  const worker = await spawnWorker({ handler, heartbeatMs: 0 });
  assert.deepEqual(await worker.call("summarize", { text: "one two three" }), { summary: "one two three", words: 3 });
  await worker.stop();

  const url = `sqlite:${join(dir, "molt.db")}`;
  const store = await openStore(url);
  const flags = await createFlags({ store, env: {} });
  const v1 = await createPool({ name: "v1", strategy: "basic", handler, size: 1, heartbeatMs: 0 });
  const migration = await createMigration({
    migrationId: "app", v1, flags, store, decommissionAfterMs: 0, workDir: join(dir, "work"),
    v2: { name: "v2", handler, size: 1, heartbeatMs: 0 },
    rollout: { plan: { shadowMs: 0, stages: [{ weightBp: 5000, minDurationMs: 0, minSamples: 1 }] }, thresholds: { minCalls: 5, criticalMinCalls: 5 } },
  });
  assert.equal((await migration.run()).state, "rollout");
  let sent = 0;
  for (let round = 0; round < 5 && migration.status().state === "rollout"; round++) {
    sent += 40;
    await Promise.all(Array.from({ length: 40 }, (_, i) => migration.router!.execute("summarize", { text: `call ${i}` }, { sessionId: `s${round}-${i}`, idempotent: true })));
    await migration.tick();
  }
  assert.equal(migration.status().state, "decommission", `promoted: ${JSON.stringify(migration.status().rollout)}`);
  assert.equal((await migration.decommission()).state, "complete");
  await migration.stop({ stopV2: true });
  await flags.close();
  const record = JSON.parse(await migrationReport(store, "app", { format: "json" }));
  // Every call the router served is in the record, on one arm or the other.
  assert.equal(record.impact.v1.calls + record.impact.v2.calls, sent);
  await store.close();

  // The CLI of the package reads the same store.
  const npx = process.platform === "win32" ? "npx.cmd" : "npx";
  const status = execFileSync(npx, ["molt", "--store", url, "--migration", "app", "status"], { encoding: "utf8" });
  assert.match(status, /complete/);
  const report = execFileSync(npx, ["molt", "--store", url, "--migration", "app", "report"], { encoding: "utf8" });
  assert.match(report, /## Customer impact/);
  console.log(`app smoke under ${runtime}: worker, pool, store, flags, router, migration to decommission, CLI: ok`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
