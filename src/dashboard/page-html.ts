/**
 * The dashboard's page: one HTML document with the panels' empty frames;
 * its script (page-script.ts) and style (page-style.ts) are served beside
 * it by the same server, and everything in the panels arrives over
 * server-sent events. Nothing is fetched from anywhere else: the
 * Content-Security-Policy the server sends forbids it (the empty icon is
 * inline, so that the browser does not ask for /favicon.ico).
 *
 * @module
 */
import { escapeXml } from "../migration/report-svg.ts";

/**
 * The Content-Security-Policy of every answer: scripts, styles and
 * connections only from the dashboard itself, no inline script, no frame,
 * no form sent anywhere. SVG drawn by the server carries presentation
 * attributes, not style attributes, so no `unsafe-inline` is needed.
 *
 * @example
 * ```ts
 * import { DASHBOARD_CSP } from "./page-html.ts";
 * console.log(DASHBOARD_CSP.split("; ")[0]); // default-src 'none'
 * ```
 */
export const DASHBOARD_CSP: string =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/**
 * The page for one migration.
 *
 * @example
 * ```ts
 * import { dashboardHtml } from "./page-html.ts";
 * console.log(dashboardHtml("demo").includes("<title>molt dashboard: demo</title>")); // true
 * ```
 */
export function dashboardHtml(migrationId: string): string {
  const id = escapeXml(migrationId);
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>molt dashboard: ${id}</title>
<link rel="icon" href="data:,"><link rel="stylesheet" href="/app.css"><script src="/app.js" defer></script></head>
<body data-migration="${id}">
<header>
  <h1>molt <span class="muted">migration</span> <span id="migration-id">${id}</span></h1>
  <dl id="summary"></dl>
  <span id="live" class="live" data-updates="0">connecting…</span>
</header>
<main>
<section id="actions-panel" aria-label="actions" hidden>
  <h2>Actions</h2>
  <div class="fields">
    <label>Your name <input id="identity" autocomplete="username" placeholder="recorded with the command"></label>
    <label>Token <input id="token" type="password" autocomplete="off" placeholder="the dashboard's token"></label>
    <label>Reason <input id="reason" placeholder="recorded with the decision (optional)"></label>
  </div>
  <div class="buttons">
    <button type="button" data-action="pause">Pause</button>
    <button type="button" data-action="resume">Resume</button>
    <button type="button" data-action="promote_stage">Promote one stage</button>
    <button type="button" data-action="promote">Promote to 100%</button>
    <button type="button" data-action="abort" class="danger">Abort (roll back)</button>
    <button type="button" data-action="emergency_rollback" class="danger">Emergency rollback</button>
  </div>
  <p id="action-result" role="status"></p>
</section>
<p id="read-only" hidden>Read-only: this dashboard was started without a token, so it offers no action (use <code>molt rollout …</code>, or start it with <code>--token</code>).</p>
<section aria-label="machines"><h2>Machines</h2>
  <p class="muted">Drawn from the machines' definitions; the states the migration and its rollout are in are filled.</p>
  <div class="machines"><div id="machine-migration"></div><div id="machine-rollout"></div></div>
</section>
<section aria-label="charts"><h2>Over time</h2>
  <p class="muted">Each arm's recorded windows. Dashed lines: green a change of V2's share, red a rollback.</p>
  <div id="charts" class="charts"></div>
</section>
<section aria-label="decisions"><h2>Decisions</h2>
  <div class="fields">
    <label>Filter <input id="decision-filter" type="search" placeholder="kind or words of the reason"></label>
    <label class="check"><input id="decision-collapse" type="checkbox" checked> collapse judgements that held the stage</label>
  </div>
  <table id="decisions"><thead><tr><th>time (UTC)</th><th>decision</th><th>state</th><th>share</th><th>why</th></tr></thead><tbody></tbody></table>
</section>
<div class="columns">
<section aria-label="fleet"><h2>Fleet</h2><p id="leadership" class="muted"></p>
  <table id="nodes"><thead><tr><th>node</th><th>host</th><th>pid</th><th>role</th><th>heartbeat</th><th>share</th><th>version</th></tr></thead><tbody></tbody></table>
</section>
<section aria-label="commands"><h2>Operator commands</h2>
  <table id="commands"><thead><tr><th>#</th><th>command</th><th>by</th><th>requested (UTC)</th><th>status</th></tr></thead><tbody></tbody></table>
</section>
<section aria-label="phases"><h2>Phases</h2>
  <table id="phases"><thead><tr><th>phase</th><th>status</th><th>started (UTC)</th><th>took</th></tr></thead><tbody></tbody></table>
</section>
<section aria-label="validations"><h2>Validations</h2>
  <table id="validations"><thead><tr><th>#</th><th>kind</th><th>verdict</th><th>at (UTC)</th></tr></thead><tbody></tbody></table>
</section>
</div>
<section aria-label="shadow mismatches"><h2>Latest shadow mismatches</h2>
  <table id="mismatches"><thead><tr><th>at (UTC)</th><th>command</th><th>serving</th><th>answer</th><th>shadow</th><th>answer</th></tr></thead><tbody></tbody></table>
</section>
</main>
<dialog id="confirm"><p id="confirm-text"></p><div class="buttons"><button type="button" id="confirm-cancel">Cancel</button><button type="button" id="confirm-ok" class="danger">Confirm</button></div></dialog>
</body></html>
`;
}
