/**
 * The dashboard's script, served at `/app.js`: it listens to
 * `/api/events`, puts each snapshot on the page (text through textContent,
 * never as HTML; only the server's SVG goes in as markup, and it escapes
 * every text it draws), filters and collapses the decision log, ages the
 * nodes' heartbeats between pushes, and sends operator actions with the
 * token in a header after a confirmation.
 *
 * @module
 */

/**
 * The script, plain JavaScript that every browser of the last years runs.
 *
 * @example
 * ```ts
 * import { DASHBOARD_SCRIPT } from "./page-script.ts";
 * console.log(DASHBOARD_SCRIPT.includes('new EventSource("/api/events")')); // true
 * ```
 */
export const DASHBOARD_SCRIPT: string = String.raw`"use strict";
(function () {
  var $ = function (id) { return document.getElementById(id); };
  var last = null;
  var receivedAt = 0;
  var updates = 0;
  var drawn = {};

  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (cls) e.className = cls;
    return e;
  }
  function row(cells, cls) {
    var tr = document.createElement("tr");
    if (cls) tr.className = cls;
    cells.forEach(function (c) { tr.appendChild(c instanceof Node ? c : el("td", c)); });
    return tr;
  }
  function fill(table, rows, empty) {
    var body = table.tBodies[0];
    if (rows.length > 0) return body.replaceChildren.apply(body, rows);
    var none = el("td", empty);
    none.colSpan = table.tHead.rows[0].cells.length;
    body.replaceChildren(row([none], "collapsed"));
  }
  function time(ms) { return ms === null || ms === undefined ? "—" : new Date(ms).toISOString().replace("T", " ").slice(0, 19); }
  function pct(bp) { return bp === null || bp === undefined ? "—" : bp / 100 + "%"; }
  function secs(ms) { return ms < 120000 ? (ms / 1000).toFixed(1) + " s" : (ms / 60000).toFixed(1) + " min"; }
  function short(v) { var t = JSON.stringify(v); return t.length > 160 ? t.slice(0, 160) + "…" : t; }
  // Server-drawn SVG, set again only when it changed: the page does not flicker and keeps its place.
  function svg(id, markup) {
    if (drawn[id] === markup) return;
    drawn[id] = markup;
    $(id).innerHTML = markup;
  }

  function summary(s) {
    var items = [["migration", s.migration ? s.migration.state : "not in the store (yet)"]];
    if (s.rollout) {
      items.push(["rollout", s.rollout.detail], ["V2 share", pct(s.rollout.shareBp)], ["stage", s.rollout.stage], ["rollbacks", s.rollout.rollbacks]);
      if (s.rollout.pauseReason) items.push(["paused", s.rollout.pauseReason]);
      if (s.rollout.rollbackReason) items.push(["rolled back", s.rollout.rollbackReason]);
    }
    if (s.migration && s.migration.failedPhase) items.push(["failed", s.migration.failedPhase + ": " + s.migration.reason]);
    $("summary").replaceChildren.apply($("summary"), items.map(function (kv) {
      var d = el("div");
      d.dataset.item = kv[0];
      d.append(el("dt", kv[0]), el("dd", kv[1]));
      return d;
    }));
    document.body.dataset.migrationState = s.migration ? s.migration.state : "";
    document.body.dataset.rolloutState = s.rollout ? s.rollout.detail : "";
  }

  function decisions() {
    if (last === null) return;
    var words = $("decision-filter").value.trim().toLowerCase();
    var collapse = $("decision-collapse").checked;
    var shown = last.decisions.filter(function (d) {
      return words === "" || (d.kind + " " + d.reason + " " + d.stateTo).toLowerCase().indexOf(words) >= 0;
    }).reverse();
    var rows = [];
    for (var i = 0; i < shown.length && rows.length < 300; i++) {
      var d = shown[i];
      var held = function (x) { return x.kind === "judged" && x.shareFrom === x.shareTo; };
      if (collapse && held(d)) {
        var j = i;
        while (j + 1 < shown.length && held(shown[j + 1])) j++;
        if (j > i) {
          var r = row([time(shown[j].at) + " – " + time(d.at).slice(11), "judged ×" + (j - i + 1), d.stateTo, pct(d.shareTo), "held the stage; latest: " + d.reason], "collapsed kind-judged");
          r.dataset.count = String(j - i + 1);
          rows.push(r);
          i = j;
          continue;
        }
      }
      rows.push(row([time(d.at), d.kind, d.stateFrom === d.stateTo ? d.stateTo : d.stateFrom + " → " + d.stateTo, d.shareFrom === d.shareTo ? pct(d.shareTo) : pct(d.shareFrom) + " → " + pct(d.shareTo), el("td", d.reason, "why")], "kind-" + d.kind));
    }
    fill($("decisions"), rows, words === "" ? "no decision yet" : "no decision matches");
  }

  function nodes() {
    if (last === null) return;
    var since = Date.now() - receivedAt;
    fill($("nodes"), last.fleet.nodes.map(function (n) {
      return row([n.nodeId, n.host, n.pid, n.live ? n.role : n.role + " (stale)", secs(n.ageMs + since) + " ago", pct(n.shareBp), n.version], n.live ? "" : "stale");
    }), "no node has joined (a migration serving alone writes none)");
  }

  function render(s) {
    last = s;
    receivedAt = Date.now();
    updates++;
    summary(s);
    svg("machine-migration", s.views.machines.migration);
    svg("machine-rollout", s.views.machines.rollout);
    var charts = $("charts");
    s.views.charts.forEach(function (c) {
      var id = "chart-" + c.id;
      if (!$(id)) { var box = el("div"); box.id = id; box.className = "chart-box"; charts.appendChild(box); }
      svg(id, c.svg);
    });
    decisions();
    $("leadership").textContent = s.fleet.leadership;
    nodes();
    fill($("commands"), s.commands.map(function (c) {
      return row([c.id, c.command, c.requestedBy || "—", time(c.requestedAt), el("td", c.status + (c.error ? ": " + c.error : ""), "status-" + c.status)]);
    }), "no command yet");
    fill($("phases"), s.phases.map(function (p) {
      return row([p.phase, el("td", p.status, "status-" + p.status), time(p.startedAt), p.completedAt === null ? "running" : secs(p.completedAt - p.startedAt)]);
    }), "no phase yet");
    fill($("validations"), s.validations.map(function (v) {
      return row([v.id, v.kind, el("td", v.verdict, "verdict-" + v.verdict), time(v.at)]);
    }), "no validation stored (molt validate)");
    fill($("mismatches"), s.mismatches.map(function (m) {
      return row([time(m.at), m.command, m.servingArm, el("td", short(m.serving), "why"), m.shadowArm, el("td", short(m.shadow), "why")]);
    }), "no mismatch recorded");
    $("actions-panel").hidden = s.readOnly;
    $("read-only").hidden = !s.readOnly;
    var live = $("live");
    live.className = "live on";
    live.textContent = "live · updated " + time(s.generatedAt).slice(11) + " UTC";
    live.dataset.updates = String(updates);
  }

  var events = new EventSource("/api/events");
  events.addEventListener("snapshot", function (e) { render(JSON.parse(e.data)); });
  events.addEventListener("problem", function (e) {
    var live = $("live");
    live.className = "live off";
    live.textContent = "store unreadable: " + JSON.parse(e.data).error;
  });
  // EventSource reconnects by itself; say so meanwhile.
  events.onerror = function () { var live = $("live"); live.className = "live off"; live.textContent = "reconnecting…"; };
  window.addEventListener("pagehide", function () { events.close(); });

  $("decision-filter").addEventListener("input", decisions);
  $("decision-collapse").addEventListener("change", decisions);
  setInterval(nodes, 1000);

  var pending = null;
  function say(text, error) { var p = $("action-result"); p.textContent = text; p.className = error ? "error" : ""; }
  Array.prototype.forEach.call(document.querySelectorAll("button[data-action]"), function (b) {
    b.addEventListener("click", function () {
      var by = $("identity").value.trim();
      if (by === "") { say("Give your name first: it is recorded with the command.", true); $("identity").focus(); return; }
      if ($("token").value === "") { say("Give the dashboard's token first.", true); $("token").focus(); return; }
      pending = { action: b.dataset.action, by: by, reason: $("reason").value.trim() };
      var what = b.textContent + " migration " + document.body.dataset.migration + " as " + by + "?";
      if (pending.reason !== "") what += " Reason: " + pending.reason + ".";
      if (pending.action === "emergency_rollback") what += " V2's share goes to 0 in the store at once, whether or not anything leads the rollout.";
      $("confirm-text").textContent = what;
      $("confirm").showModal();
    });
  });
  $("confirm-cancel").addEventListener("click", function () { pending = null; $("confirm").close(); say("Cancelled: nothing was sent.", false); });
  $("confirm-ok").addEventListener("click", function () {
    var body = pending;
    pending = null;
    $("confirm").close();
    if (body === null) return;
    say("Sending " + body.action + "…", false);
    fetch("/api/actions", {
      method: "POST",
      headers: { "content-type": "application/json", authorization: "Bearer " + $("token").value },
      body: JSON.stringify(body),
    }).then(function (r) {
      return r.json().then(function (j) {
        if (!r.ok) { say("Refused (" + r.status + "): " + j.error, true); return; }
        say(j.action + " queued as command " + j.commandId + (j.shareZeroed ? "; V2's share is 0 in the store" : "") + ": the process serving the migration applies it (see Operator commands).", false);
      });
    }).catch(function (e) { say("Not sent: " + e, true); });
  });
})();
`;
