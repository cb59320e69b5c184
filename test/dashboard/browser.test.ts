/**
 * The dashboard of a real migration (real pools, half-second recording
 * windows) in a real headless Chromium: the page loads with no console
 * error and fetches nothing from elsewhere; the machines show the states
 * the store holds; the charts draw every recorded window; a decision and a
 * state change written to the store appear on the page through the event
 * stream, without a reload; the decision log filters and collapses; an
 * action is refused without the token and with a wrong one, and applied
 * by the serving migration with it, recorded with the identity given.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { type Browser, chromium, type Page } from "playwright-core";
import { type DashboardSnapshot, startDashboard } from "../../mod.ts";
import { sleep, waitFor } from "../helpers.ts";
import { MIN, recordingSetup } from "../migration/helpers.ts";
import { BACKENDS } from "../store/backends.ts";

const sqlite = BACKENDS[0]!;
afterAll(() => sqlite.cleanup());

const CHROMIUM = "/usr/bin/chromium";
// .ci/run installs Debian's chromium and requires this test; elsewhere, without it, the test is skipped and says so.
const browserRequired = process.env.MOLT_REQUIRE_BROWSER === "1";
const TOKEN = "browser-test-token-0123456789";

/** A page that records console errors, page errors and any request to another origin. */
async function open(browser: Browser, url: string): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems: string[] = [];
  page.on("console", (msg) => void (msg.type() === "error" && problems.push(msg.text())));
  page.on("pageerror", (e) => void problems.push(String(e)));
  page.on("request", (r) => void (r.url().startsWith(url) || problems.push(`fetched ${r.url()}`)));
  await page.goto(url);
  // The first snapshot has arrived over the event stream.
  await page.waitForFunction(() => Number(document.getElementById("live")?.dataset.updates) > 0, undefined, { timeout: 10_000 });
  return { page, problems };
}

/** Poll the page's own DOM every 50 ms (up to 5 s) until `check` holds; resolve with the page's time it took, or null. */
function arrival(page: Page, check: string): Promise<number | null> {
  return page.evaluate(async (source) => {
    const holds = new Function(`return (${source});`) as () => boolean;
    const t0 = performance.now();
    while (performance.now() - t0 < 5000) {
      if (holds()) return performance.now() - t0;
      await new Promise((r) => setTimeout(r, 50));
    }
    return null;
  }, check);
}

describe("the dashboard in a real browser", () => {
  test("shows a real migration live and applies an action only with the token", async () => {
    if (!existsSync(CHROMIUM)) {
      if (browserRequired) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
      console.warn(`skipped: ${CHROMIUM} is missing (apt-get install chromium)`);
      return;
    }
    const m = await recordingSetup(sqlite.fresh());
    let browser: Browser | null = null;
    const dashboards: { close(): Promise<void> }[] = [];
    try {
      await m.migration.run();
      m.migration.serve({ pollMs: 100 });
      // Windows end every half second while calls run: a few of them on both arms, then the first stage passes.
      for (let i = 0; i < 3; i++) {
        await m.traffic(60);
        await sleep(600);
      }
      m.advance(MIN);
      await m.migration.tick();
      await m.traffic(60);
      await sleep(600);
      expect(m.migration.status().state).toBe("rollout");

      const live = await startDashboard({ store: m.store, migrationId: "migration", port: 0, token: TOKEN });
      const readOnly = await startDashboard({ store: m.store, migrationId: "migration", port: 0 });
      dashboards.push(live, readOnly);
      browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"] });

      const read = async (): Promise<DashboardSnapshot> => (await (await fetch(new URL("api/snapshot", live.url))).json()) as DashboardSnapshot;
      // The migration goes on writing windows (empty ones too): what the page draws lies between what was recorded before and after.
      const snapshot = await read();
      const { page, problems } = await open(browser, live.url);
      expect(await page.title()).toBe("molt dashboard: migration");
      // The machines: the states the store holds, filled.
      expect(await page.locator("#machine-migration g.current").evaluateAll((gs) => gs.map((g) => g.getAttribute("data-state")))).toEqual(["rollout"]);
      expect(await page.locator("#machine-rollout g.current").evaluateAll((gs) => gs.map((g) => g.getAttribute("data-state")))).toEqual([snapshot.rollout!.detail]);
      // The charts: every recorded window is a point of its arm's line.
      const windows = (s: DashboardSnapshot, arm: string): number => s.series.windows.filter((w) => w.arm === arm).length;
      expect([windows(snapshot, "v1"), windows(snapshot, "v2")].every((n) => n >= 2)).toBe(true);
      const drawn = await page.locator("#chart-calls path.series").evaluateAll((ps) =>
        ps.map((p) => ({ arm: p.getAttribute("data-series")!.toLowerCase(), points: (p.getAttribute("d")!.match(/[ML]/g) ?? []).length, length: (p as SVGPathElement).getTotalLength() }))
      );
      const after = await read();
      expect(drawn.map((d) => d.arm)).toEqual(["v1", "v2"]);
      for (const d of drawn) {
        expect(d.length).toBeGreaterThan(0);
        expect(d.points).toBeGreaterThanOrEqual(windows(snapshot, d.arm));
        expect(d.points).toBeLessThanOrEqual(windows(after, d.arm));
      }
      expect(await page.locator("#chart-share path.series").count()).toBe(2);
      expect(await page.locator("#chart-p99 path.series").count()).toBe(2);
      // The stage change is marked on the charts.
      expect(await page.locator("#chart-calls line.marker").count()).toBeGreaterThanOrEqual(1);
      // The serving migration is a node with a heartbeat.
      expect(await page.locator("#nodes tbody tr").first().textContent()).toMatch(/leader.*ago/);

      // A decision written to the store appears in the log through the event stream, without a reload; text stays text.
      await page.evaluate(() => ((window as unknown as { __loaded: number }).__loaded = 1));
      const updatesBefore = Number(await page.locator("#live").getAttribute("data-updates"));
      const note = `note ${Date.now()} <img src=x onerror="window.__xss = 1">`;
      await m.store.decisions.record({ rolloutId: "migration", at: Date.now(), kind: "operator.note", stateFrom: "", stateTo: "", shareFrom: 7500, shareTo: 7500, reason: note, inputs: {} });
      const tookMs = await arrival(page, `[...document.querySelectorAll("#decisions td.why")].some((td) => td.textContent === ${JSON.stringify(note)})`);
      console.log(`a decision written to the store appeared on the page after ${tookMs?.toFixed(0)} ms (the page polls its DOM every 50 ms)`);
      expect(tookMs).not.toBeNull();
      expect(await page.evaluate(() => (window as unknown as { __loaded?: number; __xss?: number }).__loaded === 1 && (window as unknown as { __xss?: number }).__xss === undefined)).toBe(true);
      expect(Number(await page.locator("#live").getAttribute("data-updates"))).toBeGreaterThan(updatesBefore);
      expect(await page.locator("#decisions img").count()).toBe(0);

      // The log: judgements that held the stage collapse into one row; the filter keeps matching rows only.
      for (let i = 0; i < 3; i++) {
        await m.store.decisions.record({ rolloutId: "migration", at: Date.now(), kind: "judged", stateFrom: "active.stage", stateTo: "active.stage", shareFrom: 7500, shareTo: 7500, reason: `pass ${i}`, inputs: {} });
      }
      expect(await arrival(page, `document.querySelector("#decisions tr.collapsed[data-count='3']") !== null`)).not.toBeNull();
      await page.fill("#decision-filter", "operator.note");
      expect(await page.locator("#decisions tbody tr").count()).toBe(1);
      await page.fill("#decision-filter", "");
      await page.uncheck("#decision-collapse");
      expect(await page.locator("#decisions tr.collapsed").count()).toBe(0);

      // Read-only (no token): no action offered, and the endpoint refuses one even with a token.
      const ro = await open(browser, readOnly.url);
      expect([await ro.page.locator("#actions-panel").isHidden(), await ro.page.locator("#read-only").isVisible()]).toEqual([true, true]);
      const refused = await ro.page.evaluate(async (token) =>
        (await fetch("/api/actions", { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: JSON.stringify({ action: "pause", by: "mallory" }) })).status, TOKEN);
      expect(refused).toBe(403);
      expect(ro.problems.filter((p) => !p.includes("403"))).toEqual([]);
      await ro.page.close();

      // With the token server: a wrong token is refused (401) and nothing is queued.
      await page.fill("#identity", "alice (on call)");
      await page.fill("#reason", "p99 looks odd");
      await page.fill("#token", "not-the-token-0123456789");
      await page.click("button[data-action=pause]");
      expect(await page.locator("#confirm-text").textContent()).toBe("Pause migration migration as alice (on call)? Reason: p99 looks odd.");
      await page.click("#confirm-ok");
      await page.waitForFunction(() => document.getElementById("action-result")!.textContent!.startsWith("Refused (401)"));
      expect(await m.store.commands.list("migration")).toEqual([]);
      // Cancelled: nothing sent.
      await page.fill("#token", TOKEN);
      await page.click("button[data-action=pause]");
      await page.click("#confirm-cancel");
      expect(await m.store.commands.list("migration")).toEqual([]);
      // Confirmed with the token: queued with the identity, applied by the serving migration, and the page shows the paused rollout.
      await page.click("button[data-action=pause]");
      await page.click("#confirm-ok");
      await page.waitForFunction(() => /^pause queued as command \d+/.test(document.getElementById("action-result")!.textContent!));
      expect(await waitFor(async () => (await m.store.commands.list("migration"))[0]?.status === "applied", 5000)).toBe(true);
      const [command] = await m.store.commands.list("migration");
      expect([command?.command, command?.requestedBy, command?.args]).toEqual(["pause", "alice (on call)", { reason: "p99 looks odd" }]);
      expect(m.migration.rollout!.status().state).toBe("paused");
      expect(await arrival(page, `document.querySelector("#machine-rollout g.current")?.getAttribute("data-state") === "paused"`)).not.toBeNull();
      expect(await page.locator("#commands tbody tr").first().textContent()).toContain("alice (on call)");
      expect(await page.locator("#summary [data-item=paused] dd").textContent()).toBe("p99 looks odd");
      // Resume, then promote one stage: each confirmed, queued and applied through the same command path as the CLI.
      // The rollout is on its last stage, so one stage on is promoted.
      expect(m.migration.rollout!.status()).toMatchObject({ stage: 2, stages: 2 });
      for (const action of ["resume", "promote_stage"]) {
        await page.click(`button[data-action=${action}]`);
        await page.click("#confirm-ok");
        expect(await waitFor(async () => (await m.store.commands.list("migration")).filter((c) => c.command === action && c.status === "applied").length === 1, 5000)).toBe(true);
      }
      expect(m.migration.rollout!.status()).toMatchObject({ state: "promoted", shareBp: 10_000 });
      const promoted = (await m.store.decisions.list("migration")).filter((d) => d.kind === "operator.promote_stage").map((d) => d.inputs.by);
      expect(promoted).toEqual(["alice (on call)"]);
      expect(await arrival(page, `document.querySelector("#machine-rollout g.current")?.getAttribute("data-state") === "promoted"`)).not.toBeNull();
      // 401 shows as a failed resource load in Chromium's console: that one was asked for.
      expect(problems.filter((p) => !p.includes("401"))).toEqual([]);
    } finally {
      await browser?.close();
      for (const d of dashboards) await d.close();
      await m.close();
    }
  }, 120_000);
});
