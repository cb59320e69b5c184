/**
 * The migration report: a markdown document of what happened and why —
 * phases, the timeline of decisions, stages, incidents, and V1 against V2 —
 * written from the store alone.
 *
 * @module
 */
import type { Store } from "../store/store.ts";
import type { Decision } from "../store/tables/decisions.ts";
import type { EquivalenceReport } from "../validation/equivalence.ts";
import type { FaultReport } from "../validation/faults.ts";
import type { LoadReport } from "../validation/load.ts";
import { validationMarkdown } from "../validation/markdown.ts";
import { ruleValue } from "../monitor/judge.ts";
import { duration, pct, stageOf } from "./format.ts";
import { type ArmImpact, type Impact, recordedImpact } from "./impact.ts";
import { readMigration } from "./inspect.ts";
import { lessonsFrom, successCriteria } from "./lessons.ts";

const iso = (ms: number): string => new Date(ms).toISOString().replace(".000Z", "Z");
const cell = (v: unknown): string => String(v ?? "").replace(/\|/g, "\\|").replace(/\n/g, " ");

interface WindowRecord {
  calls?: number;
  errors?: number;
  p50Ms?: number;
  p90Ms?: number;
  p99Ms?: number;
}

/**
 * Write the report of a migration.
 *
 * @example
 * ```ts
 * import { migrationReport, openStore } from "molt";
 * const store = await openStore(":memory:");
 * console.log((await migrationReport(store, "m1")).split("\n")[0]); // # Migration report: m1
 * await store.close();
 * ```
 */
export async function migrationReport(store: Store, migrationId: string, now: number = Date.now()): Promise<string> {
  const m = await readMigration(store, migrationId);
  const out: string[] = [`# Migration report: ${migrationId}`, "", `Generated ${iso(now)} from ${store.location}.`, ""];

  out.push("## Summary", "");
  const validations = await store.validations.list(migrationId);
  const impact = await recordedImpact(store, migrationId);
  if (m.migration === null && m.rollout === null) {
    out.push("The store has no migration or rollout with this id.", "");
    if (validations.length === 0 && impact === null) return out.join("\n");
  }
  if (m.migration !== null) {
    out.push(`- Migration: **${m.migration.state}**${m.migration.failedPhase === null ? "" : ` (phase ${m.migration.failedPhase} failed: ${m.migration.reason})`}`);
  }
  if (m.rollout !== null) {
    const c = m.rollout.context;
    out.push(`- Rollout: **${m.rollout.detail}**, V2 share ${pct(m.rollout.shareBp)}, stage ${stageOf(c)}, ${c.rollbacks} rollback(s)`);
    out.push(`- Plan: ${c.plan.stages.map((s) => `${pct(s.weightBp)} for ${duration(s.minDurationMs)}`).join(", ")}, then 100%`);
  }
  out.push("");

  if (m.phases.length > 0) {
    out.push("## Phases", "", "| phase | status | started | took | notes |", "| --- | --- | --- | --- | --- |");
    for (const p of m.phases) {
      const notes = typeof p.metadata.reason === "string" ? p.metadata.reason : Array.isArray(p.metadata.checks) ? (p.metadata.checks as { check: string; ok: boolean; detail: string }[]).map((c) => `${c.ok ? "✓" : "✗"} ${c.check}: ${c.detail}`).join("; ") : "";
      out.push(`| ${p.phase} | ${p.status} | ${iso(p.startedAt)} | ${p.completedAt === null ? "—" : duration(p.completedAt - p.startedAt)} | ${cell(notes)} |`);
    }
    out.push("");
  }

  const moves = m.decisions.filter((d) => d.kind !== "judged");
  out.push("## Timeline", "", `${m.decisions.length} decisions recorded, ${m.decisions.length - moves.length} of them judgements that held the stage.`, "");
  if (moves.length > 0) {
    out.push("| time | decision | state | V2 share | why |", "| --- | --- | --- | --- | --- |");
    for (const d of moves) out.push(`| ${iso(d.at)} | ${d.kind} | ${d.stateFrom} → ${d.stateTo} | ${pct(d.shareFrom)} → ${pct(d.shareTo)} | ${cell(d.reason)} |`);
    out.push("");
  }

  const stages = stagesOf(m.decisions);
  if (stages.length > 0) {
    out.push("## Stages", "", "| V2 share | entered | left | time | judgements |", "| --- | --- | --- | --- | --- |");
    for (const s of stages) out.push(`| ${pct(s.share)} | ${iso(s.from)} | ${s.to === null ? "—" : iso(s.to)} | ${duration((s.to ?? now) - s.from)} | ${s.judged} |`);
    out.push("");
  }

  const incidents = m.decisions.filter((d) => ["rolling_back", "rolled_back", "paused", "held", "recovered", "operator.rollback", "operator.emergency_rollback", "operator.pause"].includes(d.kind));
  out.push("## Incidents", "");
  if (incidents.length === 0) out.push("None.", "");
  for (const d of incidents) {
    out.push(`- ${iso(d.at)} **${d.kind}** (${d.stateFrom} → ${d.stateTo}): ${d.reason}`);
    const report = (d.inputs as { report?: { steps?: { step: string; ok: boolean; durationMs: number; detail: string }[] } }).report;
    for (const s of report?.steps ?? []) out.push(`  - ${s.ok ? "✓" : "✗"} ${s.step} in ${s.durationMs.toFixed(1)} ms: ${s.detail}`);
    const failed = (d.inputs as { judgement?: { rules?: { rule: string; status: string; value: number | null; threshold: number }[] } }).judgement?.rules?.filter((r) => r.status === "fail" || r.status === "inconclusive");
    for (const r of failed ?? []) out.push(`  - rule ${r.rule} ${r.status}: ${ruleValue(r.value)} against ${r.threshold}`);
  }
  out.push("");

  out.push(...impactSection(impact));

  out.push("## Lessons learned and recommendations", "");
  const lessons = lessonsFrom(m.decisions, validations);
  out.push(...(lessons.length === 0 ? ["Nothing in the record calls for one: no stage held for lack of data, no inconclusive streak, no rule near its threshold, no intervention, rollback or failed validation."] : lessons.map((l) => `- ${l}`)), "");
  out.push("## Success criteria", "", "| criterion | status | evidence |", "| --- | --- | --- |");
  for (const c of successCriteria(m.decisions, validations, impact)) out.push(`| ${c.criterion} | ${c.status} | ${cell(c.evidence)} |`);
  out.push("");

  const last = [...m.decisions].reverse().find((d) => (d.inputs as { v1?: unknown }).v1 !== undefined);
  out.push("## V1 against V2", "");
  if (last === undefined) out.push("No window was judged yet.", "");
  else {
    const { v1, v2, judgement } = last.inputs as unknown as { v1: WindowRecord; v2: WindowRecord; judgement: { verdict: string; rules: { rule: string; status: string; value: number | null; threshold: number }[] } };
    const rate = (w: WindowRecord): string => (w.calls ? `${((100 * (w.errors ?? 0)) / w.calls).toFixed(2)}%` : "—");
    const ms = (v: number | undefined): string => (v === undefined ? "—" : `${v.toFixed(2)} ms`);
    out.push(`The last judged window (${iso(last.at)}), verdict **${judgement.verdict}**:`, "");
    out.push("| | calls | error rate | p50 | p90 | p99 |", "| --- | --- | --- | --- | --- | --- |");
    for (const [arm, w] of [["V1", v1], ["V2", v2]] as const) out.push(`| ${arm} | ${w.calls ?? 0} | ${rate(w)} | ${ms(w.p50Ms)} | ${ms(w.p90Ms)} | ${ms(w.p99Ms)} |`);
    out.push("", "| rule | status | value | threshold |", "| --- | --- | --- | --- |");
    for (const r of judgement.rules) out.push(`| ${r.rule} | ${r.status} | ${r.status === "insufficient" && r.value === null ? "—" : ruleValue(r.value)} | ${r.threshold} |`);
    out.push("");
  }

  if (validations.length > 0) {
    out.push("## Validation", "");
    for (const v of validations) {
      out.push(`Run ${iso(v.at)}, **${v.verdict}**:`, "", validationText(v.report));
    }
  }

  const mismatches = await store.shadowMismatches.list({ limit: 5 });
  if (mismatches.length > 0) {
    out.push("## Shadow mismatches (latest)", "");
    for (const x of mismatches) out.push(`- ${iso(x.at)} \`${x.command}\`: ${x.servingArm} gave \`${cell(JSON.stringify(x.serving))}\`, ${x.shadowArm} gave \`${cell(JSON.stringify(x.shadow))}\``);
    out.push("");
  }
  return out.join("\n");
}

function stagesOf(decisions: readonly Decision[]): { share: number; from: number; to: number | null; judged: number }[] {
  const stages: { share: number; from: number; to: number | null; judged: number }[] = [];
  for (const d of decisions) {
    const current = stages.at(-1);
    if (d.shareTo !== d.shareFrom || (current === undefined && d.shareTo > 0)) {
      if (current !== undefined && current.to === null) current.to = d.at;
      if (d.shareTo > 0) stages.push({ share: d.shareTo, from: d.at, to: null, judged: 0 });
    } else if (d.kind === "judged" && current !== undefined && current.to === null) current.judged++;
  }
  return stages;
}

/** Customer impact and V1 against V2 over every recorded window. */
function impactSection(impact: Impact | null): string[] {
  const out = ["## Customer impact", ""];
  if (impact === null) return [...out, "No window of calls was recorded for this migration: nothing to tell about its callers (the migration writes them to `pool_metrics` while it runs).", ""];
  const { v1, v2 } = impact;
  const percent = (x: number | null): string => (x === null ? "—" : `${Number((100 * x).toPrecision(3))}%`);
  const tags = (a: ArmImpact): string => Object.entries(a.byTag).sort((x, y) => y[1] - x[1]).map(([t, n]) => `${t} ${n}`).join(", ") || "none";
  out.push(`From ${iso(impact.from)} to ${iso(impact.to)}: ${v1.windows + v2.windows} windows from ${Math.max(v1.nodes, v2.nodes)} node(s).`, "");
  out.push("| | calls | failed for callers | error rate (95% interval) | failures by tag |", "| --- | --- | --- | --- | --- |");
  for (const [name, a] of [["V1", v1], ["V2", v2]] as const) {
    const interval = a.errorRateInterval === null ? "" : ` (${percent(a.errorRateInterval[0])} to ${percent(a.errorRateInterval[1])})`;
    out.push(`| ${name} | ${a.calls} | ${a.failed} | ${percent(a.errorRate)}${interval} | ${cell(tags(a))} |`);
  }
  out.push("", `Calls bound for V2 that V1 served (fallbacks): ${v2.fallbacks}.`);
  const x = impact.excessV2Failures;
  out.push(x === null
    ? "V2's failures cannot be set against V1's rate: one arm served no call."
    : `V2 failures beyond what V1's error rate predicts for V2's calls: ${Math.round(x.value)} (95% interval ${Math.round(x.low)} to ${Math.round(x.high)})${x.low > 0 ? ": V2 failed callers more than V1 would have." : "."}`, "");

  out.push("## V1 against V2 over the whole rollout", "");
  const ms = (v: number | null): string => (v === null ? "—" : `${Number(v.toPrecision(3))} ms`);
  const num = (v: number | null, unit = ""): string => (v === null ? "—" : `${Number(v.toPrecision(3))}${unit}`);
  const change = (a: number | null, b: number | null): string => (a === null || b === null || a === 0 ? "—" : `${b >= a ? "+" : ""}${Number(((100 * (b - a)) / a).toPrecision(3))}%`);
  out.push("| | V1 | V2 | change |", "| --- | --- | --- | --- |");
  const rows: [string, number | null, number | null, (v: number | null) => string][] = [
    ["throughput (completed calls/s)", v1.throughputPerS, v2.throughputPerS, (v) => num(v)],
    ["error rate", v1.errorRate, v2.errorRate, percent],
    ["p50", v1.p50Ms, v2.p50Ms, ms],
    ["p90", v1.p90Ms, v2.p90Ms, ms],
    ["p99", v1.p99Ms, v2.p99Ms, ms],
    ["CPU per worker (mean)", v1.cpuPercent, v2.cpuPercent, (v) => num(v, "%")],
    ["memory (highest share of the machine)", v1.memoryPercent, v2.memoryPercent, (v) => num(v, "%")],
  ];
  for (const [name, a, b, f] of rows) out.push(`| ${name} | ${f(a)} | ${f(b)} | ${change(a, b)} |`);
  out.push("", "Latency quantiles are exact over every recorded call (merged histograms); throughput is over the time the windows span, so it follows each arm's share of the traffic.", "");
  return out;
}

/** A stored validation report as markdown; one this version cannot read (another shape, a damaged row) says so instead of failing the whole report. */
function validationText(report: unknown): string {
  try {
    return validationMarkdown(report as EquivalenceReport | LoadReport | FaultReport, 3);
  } catch (e) {
    return `(its report could not be read: ${(e as Error).message})`;
  }
}
