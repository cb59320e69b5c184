/**
 * The migration report: what happened and why — phases, the timeline of
 * decisions, stages, incidents, customer impact, V1 against V2, lessons,
 * success criteria, decommissioning and the artifacts left for the record —
 * written from the store alone, as markdown, JSON or one HTML file.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { epochMs, option, refuseUnknown, type Rule } from "../config.ts";
import type { Store } from "../store/store.ts";
import type { EquivalenceReport } from "../validation/equivalence.ts";
import type { FaultReport } from "../validation/faults.ts";
import type { LoadReport } from "../validation/load.ts";
import { validationMarkdown } from "../validation/markdown.ts";
import { ruleValue } from "../monitor/judge.ts";
import { duration, pct } from "./format.ts";
import type { ArmImpact, Impact, Interval } from "./impact.ts";
import { type MigrationRecord, readMigrationRecord } from "./record.ts";
import { htmlReport } from "./report-html.ts";

/** How `migrationReport` writes the report. */
export type ReportFormat = "md" | "json" | "html";

/** Options of `migrationReport`. */
export interface ReportOptions {
  /** "md" (markdown), "json" (the {@link MigrationRecord}), or "html" (one self-contained page with charts and the machines). Default "md". */
  readonly format?: ReportFormat;
  /** The time it is written at (epoch ms). Default: now. */
  readonly now?: number;
}

const FORMATS: readonly ReportFormat[] = ["md", "json", "html"];
const formatRule: Rule<ReportFormat> = { is: (v): v is ReportFormat => FORMATS.includes(v as ReportFormat), allowed: `one of ${FORMATS.map((f) => JSON.stringify(f)).join(", ")}` };

/** @internal An instant as ISO 8601 UTC, without milliseconds when there are none. */
export const iso = (ms: number): string => new Date(ms).toISOString().replace(".000Z", "Z");
/** @internal Text made safe for one markdown table cell. */
export const cell = (v: unknown): string => String(v ?? "").replace(/\|/g, "\\|").replace(/\n/g, " ");
/** @internal A share (0 to 1) as a percentage of three significant digits; "—" for null. */
export const percent = (x: number | null): string => (x === null ? "—" : `${Number((100 * x).toPrecision(3))}%`);
const num = (v: number | null, unit = ""): string => (v === null ? "—" : `${Number(v.toPrecision(3))}${unit}`);

/**
 * Write the report of a migration.
 *
 * @example
 * ```ts
 * import { migrationReport, openStore } from "molt";
 * const store = await openStore(":memory:");
 * console.log((await migrationReport(store, "m1")).split("\n")[0]); // # Migration report: m1
 * console.log(JSON.parse(await migrationReport(store, "m1", { format: "json" })).migrationId); // m1
 * await store.close();
 * ```
 */
export async function migrationReport(store: Store, migrationId: string, options: ReportOptions = {}): Promise<string> {
  if (typeof options !== "object" || options === null) throw new ConfigError({ owner: "migrationReport", option: "options", received: options, allowed: "an object" });
  refuseUnknown("migrationReport", options, ["format", "now"]);
  const format = option("migrationReport", "format", options.format, formatRule, "md");
  const record = await readMigrationRecord(store, migrationId, option("migrationReport", "now", options.now, epochMs, Date.now()));
  if (format === "json") return JSON.stringify(record, null, 2);
  const markdown = markdownReport(record);
  return format === "md" ? markdown : htmlReport(record, markdown);
}

/** @internal The record as markdown. */
export function markdownReport(r: MigrationRecord): string {
  const out: string[] = [`# Migration report: ${r.migrationId}`, "", `Generated ${iso(r.generatedAt)} from ${r.store}.`, ""];

  out.push("## Summary", "");
  if (r.migration === null && r.rollout === null) {
    out.push("The store has no migration or rollout with this id.", "");
    if (r.validations.length === 0 && r.impact === null) return out.join("\n");
  }
  if (r.migration !== null) {
    out.push(`- Migration: **${r.migration.state}**${r.migration.failedPhase === null ? "" : ` (phase ${r.migration.failedPhase} failed: ${r.migration.reason})`}`);
  }
  if (r.rollout !== null) {
    out.push(`- Rollout: **${r.rollout.detail}**, V2 share ${pct(r.rollout.shareBp)}, stage ${r.rollout.stage}, ${r.rollout.rollbacks} rollback(s)`);
    out.push(`- Plan: ${r.rollout.plan}`);
  }
  out.push("");

  if (r.phases.length > 0) {
    out.push("## Phases", "", "| phase | status | started | took | notes |", "| --- | --- | --- | --- | --- |");
    for (const p of r.phases) out.push(`| ${p.phase} | ${p.status} | ${iso(p.startedAt)} | ${p.durationMs === null ? "—" : duration(p.durationMs)} | ${cell(p.notes)} |`);
    out.push("");
  }

  const moves = r.decisions.filter((d) => d.kind !== "judged");
  out.push("## Timeline", "", `${r.decisions.length} decisions recorded, ${r.decisions.length - moves.length} of them judgements that held the stage.`, "");
  if (moves.length > 0) {
    out.push("| time | decision | state | V2 share | why |", "| --- | --- | --- | --- | --- |");
    for (const d of moves) out.push(`| ${iso(d.at)} | ${d.kind} | ${d.stateFrom} → ${d.stateTo} | ${pct(d.shareFrom)} → ${pct(d.shareTo)} | ${cell(d.reason)} |`);
    out.push("");
  }

  if (r.stages.length > 0) {
    out.push("## Stages", "", "| V2 share | entered | left | time | judgements |", "| --- | --- | --- | --- | --- |");
    for (const s of r.stages) out.push(`| ${pct(s.shareBp)} | ${iso(s.from)} | ${s.to === null ? "—" : iso(s.to)} | ${duration((s.to ?? r.generatedAt) - s.from)} | ${s.judged} |`);
    out.push("");
  }

  out.push("## Incidents", "");
  if (r.incidents.length === 0) out.push("None.", "");
  for (const d of r.incidents) {
    out.push(`- ${iso(d.at)} **${d.kind}** (${d.stateFrom} → ${d.stateTo}): ${d.reason}`);
    const report = (d.inputs as { report?: { steps?: { step: string; ok: boolean; durationMs: number; detail: string }[] } }).report;
    for (const s of report?.steps ?? []) out.push(`  - ${s.ok ? "✓" : "✗"} ${s.step} in ${s.durationMs.toFixed(1)} ms: ${s.detail}`);
    const failed = (d.inputs as { judgement?: { rules?: { rule: string; status: string; value: number | null; threshold: number }[] } }).judgement?.rules?.filter((x) => x.status === "fail" || x.status === "inconclusive");
    for (const x of failed ?? []) out.push(`  - rule ${x.rule} ${x.status}: ${ruleValue(x.value)} against ${x.threshold}`);
  }
  out.push("");

  out.push(...impactSection(r.impact));

  out.push("## Lessons learned and recommendations", "");
  out.push(...(r.lessons.length === 0 ? ["Nothing in the record calls for one: no stage held for lack of data, no inconclusive streak, no rule near its threshold, no intervention, rollback or failed validation."] : r.lessons.map((l) => `- ${l}`)), "");
  out.push("## Success criteria", "", "| criterion | status | evidence |", "| --- | --- | --- |");
  for (const c of r.criteria) out.push(`| ${c.criterion} | ${c.status} | ${cell(c.evidence)} |`);
  out.push("");

  out.push(...lastWindowSection(r));

  if (r.validations.length > 0) {
    out.push("## Validation", "");
    for (const v of r.validations) out.push(`Run ${iso(v.at)}, **${v.verdict}**:`, "", validationText(v.report));
  }

  if (r.mismatches.length > 0) {
    out.push("## Shadow mismatches (latest)", "");
    for (const x of r.mismatches) out.push(`- ${iso(x.at)} \`${x.command}\`: ${x.servingArm} gave \`${cell(JSON.stringify(x.serving))}\`, ${x.shadowArm} gave \`${cell(JSON.stringify(x.shadow))}\``);
    out.push("");
  }

  if (r.decommission !== null) {
    const d = r.decommission;
    out.push("## Decommissioning", "", `V1's archive: \`${d.archive.dir}\`${d.archive.manifest === null ? " (without its manifest)" : ""}. What was cleaned up:`, "", "| what | item | done |", "| --- | --- | --- |");
    for (const c of d.cleanup) out.push(`| ${c.kind} | ${cell(c.what)} | ${cell(c.detail)} |`);
    out.push("");
    if (d.problems.length > 0) out.push("Steps that failed after V1 had stopped (V1 stays stopped; finish these by hand):", "", ...d.problems.map((p) => `- ${p}`), "");
  }

  if (r.artifacts.length > 0) {
    out.push("## Artifacts", "", "What the migration left for the record, each checked now against the checksum it was written with (or, for a backup file, against the store's copy).", "");
    out.push("| kind | name | path | bytes | SHA-256 | status |", "| --- | --- | --- | --- | --- | --- |");
    for (const a of r.artifacts) out.push(`| ${a.kind} | ${cell(a.name)} | ${a.path === null ? "in the store" : `\`${cell(a.path)}\``} | ${a.bytes ?? "—"} | ${a.sha256 === null ? "—" : `\`${a.sha256}\``} | ${a.status} |`);
    out.push("");
  }
  return out.join("\n");
}

/** The last judged window, with every rule. */
function lastWindowSection(r: MigrationRecord): string[] {
  const last = [...r.decisions].reverse().find((d) => (d.inputs as { v1?: unknown }).v1 !== undefined);
  const out = ["## The last judged window", ""];
  if (last === undefined) return [...out, "No window was judged yet.", ""];
  type Window = { calls?: number; errors?: number; p50Ms?: number; p90Ms?: number; p99Ms?: number };
  const { v1, v2, judgement } = last.inputs as unknown as { v1: Window; v2: Window; judgement: { verdict: string; rules: { rule: string; status: string; value: number | null; threshold: number }[] } };
  const rate = (w: Window): string => (w.calls ? percent((w.errors ?? 0) / w.calls) : "—");
  const ms = (v: number | undefined): string => (v === undefined ? "—" : num(v, " ms"));
  out.push(`At ${iso(last.at)}, verdict **${judgement.verdict}**:`, "");
  out.push("| | calls | error rate | p50 | p90 | p99 |", "| --- | --- | --- | --- | --- | --- |");
  for (const [arm, w] of [["V1", v1], ["V2", v2]] as const) out.push(`| ${arm} | ${w.calls ?? 0} | ${rate(w)} | ${ms(w.p50Ms)} | ${ms(w.p90Ms)} | ${ms(w.p99Ms)} |`);
  out.push("", "| rule | status | value | threshold |", "| --- | --- | --- | --- |");
  for (const x of judgement.rules) out.push(`| ${x.rule} | ${x.status} | ${x.status === "insufficient" && x.value === null ? "—" : ruleValue(x.value)} | ${x.threshold} |`);
  out.push("");
  return out;
}

/** Customer impact and V1 against V2 over every recorded window. */
function impactSection(impact: Impact | null): string[] {
  const out = ["## Customer impact", ""];
  if (impact === null) return [...out, "No window of calls was recorded for this migration: nothing to tell about its callers (the migration writes them to `pool_metrics` while it runs).", ""];
  const { v1, v2 } = impact;
  const tags = (a: ArmImpact): string => Object.entries(a.byTag).sort((x, y) => y[1] - x[1]).map(([t, n]) => `${t} ${n}`).join(", ") || "none";
  out.push(`From ${iso(impact.from)} to ${iso(impact.to)}: ${v1.windows + v2.windows} windows from ${Math.max(v1.nodes, v2.nodes)} node(s).`, "");
  out.push("| | calls | failed for callers | error rate (95% interval) | failures by tag |", "| --- | --- | --- | --- | --- |");
  for (const [name, a] of [["V1", v1], ["V2", v2]] as const) {
    out.push(`| ${name} | ${a.calls} | ${a.failed} | ${percent(a.errorRate)}${within(a.errorRateInterval, percent)} | ${cell(tags(a))} |`);
  }
  out.push("", v1.counted === "callers" && v2.counted === "callers"
    ? `Counted from what the router's callers got; the pools ran ${v1.poolCalls} (V1) and ${v2.poolCalls} (V2) calls in all, shadow calls included.`
    : "Counted from the pools' own calls, shadow calls included: these windows were recorded without the router's count of its callers.");
  out.push(`Calls bound for V2 that V1 served (fallbacks): ${v2.fallbacks}.`);
  const x = impact.excessV2Failures;
  out.push(x === null
    ? "V2's failures cannot be set against V1's rate: one arm served no call."
    : `V2 failures beyond what V1's error rate predicts for V2's calls: ${Math.round(x.value)} (95% interval ${Math.round(x.low)} to ${Math.round(x.high)})${x.low > 0 ? ": V2 failed callers more than V1 would have." : "."}`, "");

  out.push("## V1 against V2 over the whole rollout", "");
  const ms = (v: number | null): string => num(v, " ms");
  const change = (a: number | null, b: number | null): string => (a === null || b === null || a === 0 ? "—" : `${b >= a ? "+" : ""}${Number(((100 * (b - a)) / a).toPrecision(3))}%`);
  out.push("| | V1 (95% interval) | V2 (95% interval) | change |", "| --- | --- | --- | --- |");
  const rows: [string, number | null, number | null, (v: number | null) => string, Interval | null, Interval | null][] = [
    ["throughput (succeeded calls/s)", v1.throughputPerS, v2.throughputPerS, (v) => num(v), v1.intervals.throughputPerS, v2.intervals.throughputPerS],
    ["error rate", v1.errorRate, v2.errorRate, percent, v1.errorRateInterval, v2.errorRateInterval],
    ["p50", v1.p50Ms, v2.p50Ms, ms, v1.intervals.p50Ms, v2.intervals.p50Ms],
    ["p90", v1.p90Ms, v2.p90Ms, ms, v1.intervals.p90Ms, v2.intervals.p90Ms],
    ["p99", v1.p99Ms, v2.p99Ms, ms, v1.intervals.p99Ms, v2.intervals.p99Ms],
    ["CPU per worker (mean)", v1.cpuPercent, v2.cpuPercent, (v) => num(v, "%"), v1.intervals.cpuPercent, v2.intervals.cpuPercent],
    ["memory (mean share of the machine)", v1.memoryPercent, v2.memoryPercent, (v) => num(v, "%"), v1.intervals.memoryPercent, v2.intervals.memoryPercent],
    ["memory (highest share)", v1.memoryPeakPercent, v2.memoryPeakPercent, (v) => num(v, "%"), null, null],
  ];
  for (const [name, a, b, f, ia, ib] of rows) out.push(`| ${name} | ${f(a)}${within(ia, f)} | ${f(b)}${within(ib, f)} | ${change(a, b)} |`);
  out.push(
    "",
    "Latency is the pool's: every call it ran, shadow calls included (merged histograms), each quantile's interval from the order statistics; throughput is over the time the windows span, so it follows each arm's share of the traffic, its interval the exact one of a Poisson count; CPU and memory intervals are of the mean over the windows (Student's t; windows next to each other are not independent, so read them as the least uncertainty there is).",
    "",
  );
  return out;
}

const within = (i: Interval | null, f: (v: number | null) => string): string => (i === null ? "" : ` (${f(i[0])} to ${f(i[1])})`);

/** A stored validation report as markdown; one this version cannot read (another shape, a damaged row) says so instead of failing the whole report. */
function validationText(report: unknown): string {
  const training = report as { kind?: string; exercise?: string; by?: string; criteria?: string[] };
  if (training.kind === "training") return `Training exercise ${training.exercise} (molt train), passed by ${training.by}: ${(training.criteria ?? []).join("; ")}.`;
  try {
    return validationMarkdown(report as EquivalenceReport | LoadReport | FaultReport, 3);
  } catch (e) {
    return `(its report could not be read: ${(e as Error).message})`;
  }
}
