// Screenshots of `molt dashboard` for docs/dashboard.md, taken during a real
// migration like the demo's (V1 to V2 of examples/summarizer.py on real
// Python workers, synthetic traffic, stages of two seconds) in Debian's
// headless Chromium:
//
//   docs/dashboard.png          the whole page in the middle of the rollout
//   docs/dashboard-actions.png  an operator's pause, at its confirmation
//
//   npx bun scripts/dashboard-screenshots.ts [--chromium /usr/bin/chromium]
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { createFlags, openStore, startDashboard } from "../mod.ts";
import { demoMigration, demoTraffic } from "../src/cli/migration-demo.ts";

const at = process.argv.indexOf("--chromium");
const executablePath = at > 0 ? process.argv[at + 1]! : "/usr/bin/chromium";
const docs = fileURLToPath(new URL("../docs/", import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "molt-dashboard-shots-"));
const TOKEN = "screenshot-token-0123456789";

const store = await openStore(`sqlite:${join(dir, "molt.db")}`);
const flags = await createFlags({ store, env: {}, pollMs: 200 });
const { v1, migration } = await demoMigration(store, flags, { fault: false });
migration.serve({ pollMs: 200 });
await migration.run();

const traffic = demoTraffic(migration);
const dashboard = await startDashboard({ store, migrationId: "demo", port: 0, token: TOKEN });
const browser = await chromium.launch({ executablePath, args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"] });
try {
  // Tick the rollout until it reaches the 50% stage: several stages and their windows are on the charts by then.
  for (let i = 0; i < 120 && (migration.rollout?.status().shareBp ?? 0) < 5000; i++) {
    await new Promise((r) => setTimeout(r, 500));
    await migration.tick();
  }
  await new Promise((r) => setTimeout(r, 1500));
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 }, deviceScaleFactor: 1 });
  await page.goto(dashboard.url);
  await page.waitForFunction(() => Number(document.getElementById("live")?.dataset.updates) > 0);
  await page.screenshot({ path: join(docs, "dashboard.png"), fullPage: true });
  console.log(`wrote ${join(docs, "dashboard.png")} (rollout at ${(migration.rollout!.status().shareBp / 100)}%)`);

  await page.fill("#identity", "alice");
  await page.fill("#token", TOKEN);
  await page.fill("#reason", "p99 of V2 to be checked");
  await page.click("button[data-action=pause]");
  await page.screenshot({ path: join(docs, "dashboard-actions.png") });
  console.log(`wrote ${join(docs, "dashboard-actions.png")}`);
  await page.click("#confirm-cancel");
} finally {
  await traffic.stop();
  await browser.close();
  await dashboard.close();
  await migration.stop({ stopV2: true });
  await v1.stop();
  await flags.close();
  await store.close();
  rmSync(dir, { recursive: true, force: true });
}
