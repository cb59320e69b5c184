/**
 * The report of a real migration, checked against calls the test counted
 * itself (per arm, failed by tag), phase times from the test's own clock,
 * artifacts that can be found changed or missing, and the HTML page opened
 * in a real headless Chromium: no console error, the charts drawn, the
 * machines in their states, and text from the store never run as HTML.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { type MigrationRecord, migrationReport, PythonError } from "../../mod.ts";
import { BACKENDS } from "../store/backends.ts";
import { MIN, recordingSetup } from "./helpers.ts";
import { sleep } from "../helpers.ts";

const sqlite = BACKENDS[0]!;
afterAll(() => sqlite.cleanup());

const CHROMIUM = "/usr/bin/chromium";
// .ci/run installs Debian's chromium and requires this test; elsewhere, without it, the browser part is skipped and says so.
const browserRequired = process.env.MOLT_REQUIRE_BROWSER === "1";

describe("the report of a real migration", () => {
  test("its numbers are the calls the test counted; its artifacts are checked; its HTML opens in Chromium with the charts drawn", async () => {
    // Windows of half a second, so that the charts have several points each.
    const m = await recordingSetup(sqlite.fresh());
    const html = join(tmpdir(), `molt-report-${process.pid}.html`);
    try {
      await m.migration.run();
      const v2 = m.migration.v2!;
      // What callers got, per arm; verification's own calls (pings, a typed error on purpose) went to the pools, not through the router.
      const counted = { v1: { calls: 0, failed: 0 }, v2: { calls: 0, failed: 0 } };
      let session = 0;
      for (let i = 0; i < 4 && m.migration.status().state === "rollout"; i++) {
        m.advance(MIN);
        await sleep(600);
        await Promise.all(Array.from({ length: 80 }, async (_, j) => {
          const command = j % 40 === 0 ? "fails" : "tally";
          try {
            const r = await m.migration.router!.execute<{ arm: "v1" | "v2" }>(command, {}, { sessionId: `s${session++}` });
            counted[r.arm].calls++;
          } catch (e) {
            const arm = (e as PythonError).workerId.startsWith("v2") ? "v2" : "v1";
            expect((e as PythonError)._tag).toBe("PythonError");
            counted[arm].calls++;
            counted[arm].failed++;
          }
        }));
        await m.migration.tick();
      }
      expect(m.migration.status().state).toBe("decommission");
      m.advance(10 * MIN);
      expect((await m.migration.decommission()).state).toBe("complete");
      const text = "<script>window.__xss = 1</script><img src=x onerror=\"window.__xss = 2\"> [click](javascript:window.__xss=3) <javascript:window.__xss=4> ![pic](http://127.0.0.1:9/x.png) [docs](https://example.org/molt)";
      await m.store.decisions.record({ rolloutId: "migration", at: Date.now(), kind: "operator.note", stateFrom: "", stateTo: "", shareFrom: 10_000, shareTo: 10_000, reason: text, inputs: {} });

      const record = JSON.parse(await migrationReport(m.store, "migration", { format: "json" })) as MigrationRecord;
      expect(counted.v1.failed + counted.v2.failed).toBeGreaterThan(0);
      for (const arm of ["v1", "v2"] as const) {
        expect([arm, record.impact![arm].counted, record.impact![arm].calls, record.impact![arm].failed]).toEqual([arm, "callers", counted[arm].calls, counted[arm].failed]);
        expect(record.impact![arm].byTag).toEqual(counted[arm].failed === 0 ? {} : { PythonError: counted[arm].failed });
      }
      // The pools ran more: verification's calls, and shadow calls where there are any.
      expect([record.impact!.v1.poolCalls, record.impact!.v2.poolCalls]).toEqual([m.v1.stats().calls, v2.stats().calls]);
      expect(record.impact!.v2.fallbacks).toBe(0);
      // Phase times from the test's clock: the rollout ran two simulated minutes, the others none.
      const took = Object.fromEntries(record.phases.map((p) => [p.phase, p.durationMs]));
      expect(Math.abs(took.rollout! - 2 * MIN)).toBeLessThan(100);
      for (const phase of ["preflight", "backup", "deployShadow", "verify", "decommission"]) expect(took[phase]).toBeLessThan(100);
      expect(record.decommission!.cleanup.map((c) => c.kind)).toEqual(["process", "temp_file", "flag", "flag", "configuration"]);
      // Two backups (before the migration, before decommissioning), the archive's manifest and its six files: all as written.
      expect(record.artifacts.map((a): string[] => [a.kind, a.status])).toEqual([
        ["backup", "intact"], ["backup", "intact"], ["archive", "intact"], ...Array.from({ length: 6 }, () => ["archive", "intact"]),
      ]);
      expect(record.artifacts.every((a) => /^[0-9a-f]{64}$/.test(a.sha256!) && a.bytes! > 0)).toBe(true);

      // An archive file changed, a backup file gone: the report says so.
      const changed = record.artifacts.find((a) => a.name === "stderr.json")!;
      writeFileSync(changed.path!, "[]");
      rmSync(record.artifacts[0]!.path!);
      const after = JSON.parse(await migrationReport(m.store, "migration", { format: "json" })) as MigrationRecord;
      expect(after.artifacts.map((a) => [a.name.replace(/^backup-.*/, "backup"), a.status])).toEqual([
        ["backup", "missing"], ["backup", "intact"], ["manifest.json", "intact"], ["configuration.json", "intact"], ["decisions.json", "intact"],
        ["metrics.json", "intact"], ["flags.json", "intact"], ["stderr.json", "changed"], ["cleanup.json", "intact"],
      ]);
      const markdown = await migrationReport(m.store, "migration");
      expect(markdown).toContain(`| archive | stderr.json | \`${changed.path}\` |`);
      expect(markdown).toMatch(/\| changed \|\n/);

      writeFileSync(html, await migrationReport(m.store, "migration", { format: "html" }));
      if (!existsSync(CHROMIUM)) {
        if (browserRequired) throw new Error(`${CHROMIUM} is missing: .ci/run installs Debian's chromium`);
        console.warn(`skipped the browser part: ${CHROMIUM} is missing (apt-get install chromium)`);
        return;
      }
      const browser = await chromium.launch({ executablePath: CHROMIUM, args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"] });
      try {
        const page = await browser.newPage();
        const problems: string[] = [];
        page.on("console", (msg) => void (msg.type() === "error" && problems.push(msg.text())));
        page.on("pageerror", (e) => void problems.push(String(e)));
        // Nothing may be fetched: the page is one file.
        page.on("request", (r) => void (r.url().startsWith("file:") || problems.push(`fetched ${r.url()}`)));
        await page.goto(`file://${html}`);
        expect(await page.title()).toBe("Migration report: migration");
        // Share, then error rate and p99 for both arms.
        expect(await page.locator("svg.chart path.series").evaluateAll((ps) => ps.map((p) => p.getAttribute("data-series")))).toEqual(["V2 share", "V1", "V2", "V1", "V2"]);
        expect(await page.locator("svg.chart path.series").evaluateAll((ps) => ps.every((p) => (p as SVGPathElement).getTotalLength() > 0))).toBe(true);
        expect(await page.locator("svg.machine g.current").evaluateAll((gs) => gs.map((g) => g.getAttribute("data-state")))).toEqual(["complete", "promoted"]);
        for (const heading of ["Customer impact", "V1 against V2 over the whole rollout", "Success criteria", "Decommissioning", "Artifacts"]) {
          expect(await page.locator("h2", { hasText: heading }).count()).toBe(1);
        }
        expect(await page.evaluate(() => (window as unknown as { __xss?: number }).__xss)).toBeUndefined();
        expect(await page.locator("body img").count()).toBe(0);
        // Links only to http(s); the rest stays text (the reason is in the timeline and in the lessons).
        expect(await page.locator("a").evaluateAll((as) => as.map((a) => a.getAttribute("href")))).toEqual(["https://example.org/molt", "https://example.org/molt"]);
        expect(await page.locator("td", { hasText: "<script>window.__xss = 1</script>" }).count()).toBe(1);
        expect(problems).toEqual([]);
      } finally {
        await browser.close();
      }
    } finally {
      rmSync(html, { force: true });
      await m.close();
    }
  }, 90_000);
});
