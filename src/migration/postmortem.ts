/**
 * The post-mortem's draft, filled from the migration's record: summary,
 * timeline, impact, detection time, time to mitigate, decisions (automatic
 * and operator), contributing evidence, lessons, and the sections only the
 * team can write (root cause, action items) left to fill in. A number the
 * record does not hold is "insufficient evidence" or "not in the record",
 * never made up.
 *
 * @module
 */
import { ConfigError } from "../errors.ts";
import { epochMs, option, refuseUnknown, type Rule } from "../config.ts";
import type { Store } from "../store/store.ts";
import { ruleValue } from "../monitor/judge.ts";
import { duration, pct } from "./format.ts";
import { type FailedRule, type IncidentEvent, type IncidentRecord, impactSentence, readIncident } from "./incident.ts";
import type { Impact } from "./impact.ts";
import { cell, iso } from "./report.ts";

/** Options of `postmortemReport`. */
export interface PostmortemOptions {
  /** "md" (markdown) or "json" (the {@link Postmortem}). Default "md". */
  readonly format?: "md" | "json";
  /** The time it is written at (epoch ms). Default: now. */
  readonly now?: number;
}

/** A step of a rollback, as its report recorded it. */
interface RollbackStep {
  readonly step: string;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly detail: string;
}

/** The post-mortem as data. */
export interface Postmortem {
  readonly migrationId: string;
  readonly generatedAt: number;
  readonly store: string;
  readonly summary: readonly string[];
  /** Every decision but the judgements that held the stage without failing, every operator command, flags set by people, nodes stopped. */
  readonly timeline: readonly IncidentEvent[];
  readonly quietJudgements: number;
  readonly impact: Impact | null;
  readonly impactText: string;
  /** From the first bad evidence to the first reaction; null fields are not in the record. */
  readonly detection: { readonly firstBadEvidenceAt: number | null; readonly firstBadEvidence: string | null; readonly detectedAt: number | null; readonly detectedBy: IncidentEvent | null; readonly detectionMs: number | null; readonly text: string };
  /** From the first reaction to a pause taking effect or V2's share reaching 0. */
  readonly mitigation: {
    readonly mitigatedAt: number | null;
    readonly shareZeroAt: number | null;
    readonly timeToMitigateMs: number | null;
    /** From the first bad evidence instead. */
    readonly fromFirstBadEvidenceMs: number | null;
    readonly rollbackSteps: readonly RollbackStep[];
    readonly open: readonly string[];
    readonly text: string;
  };
  readonly decisions: { readonly automatic: number; readonly operator: number; readonly list: readonly IncidentEvent[] };
  readonly evidence: readonly FailedRule[];
  readonly failedValidations: readonly { readonly at: number; readonly kind: string; readonly reasons: readonly string[] }[];
  readonly lessons: readonly string[];
}

const NOT_IN_RECORD = "insufficient evidence: the record holds no incident (no rollback, pause, hold or operator command)";
const formatRule: Rule<"md" | "json"> = { is: (v): v is "md" | "json" => v === "md" || v === "json", allowed: 'one of "md", "json"' };

/**
 * Write the post-mortem draft of a migration, as markdown or JSON.
 *
 * @internal
 */
export async function postmortemReport(store: Store, migrationId: string, options: PostmortemOptions = {}): Promise<string> {
  if (typeof options !== "object" || options === null) throw new ConfigError({ owner: "postmortemReport", option: "options", received: options, allowed: "an object" });
  refuseUnknown("postmortemReport", options, ["format", "now"]);
  const format = option("postmortemReport", "format", options.format, formatRule, "md");
  const p = postmortemOf(await readIncident(store, migrationId, option("postmortemReport", "now", options.now, epochMs, Date.now())));
  return format === "json" ? JSON.stringify(p, null, 2) : postmortemMarkdown(p);
}

/** @internal The post-mortem of a record. */
export function postmortemOf(r: IncidentRecord): Postmortem {
  const { record, incident } = r;
  const decisions = r.timeline.filter((e) => e.source === "decision");
  const rolledBack = incident === null ? undefined : record.decisions.filter((d) => d.kind === "rolled_back" && d.at >= incident.startedAt).at(-1);
  const steps = (rolledBack?.inputs as { report?: { steps?: RollbackStep[] } } | undefined)?.report?.steps ?? [];
  const bad = incident?.firstBadEvidence ?? null;
  const fromBad = incident?.mitigatedAt == null || bad === null ? null : incident.mitigatedAt - bad.at;
  return {
    migrationId: record.migrationId,
    generatedAt: record.generatedAt,
    store: record.store,
    summary: summaryOf(r),
    timeline: r.timeline,
    quietJudgements: r.quietJudgements,
    impact: record.impact,
    impactText: impactSentence(record.impact),
    detection: {
      firstBadEvidenceAt: bad?.at ?? null,
      firstBadEvidence: bad?.reason ?? null,
      detectedAt: incident?.detectedBy.at ?? null,
      detectedBy: incident?.detectedBy ?? null,
      detectionMs: incident?.detectionMs ?? null,
      text: incident === null
        ? NOT_IN_RECORD
        : bad === null
        ? `first bad evidence: not in the record (no judgement failed before the first reaction); detection time: insufficient evidence. First reaction: ${iso(incident.detectedBy.at)}, ${incident.detectedBy.what} by ${incident.detectedBy.who}.`
        : `first bad evidence ${iso(bad.at)} (the judgement that failed: ${bad.reason}); first reaction ${iso(incident.detectedBy.at)} (${incident.detectedBy.what} by ${incident.detectedBy.who}); detection time ${duration(incident.detectionMs!)}.`,
    },
    mitigation: {
      mitigatedAt: incident?.mitigatedAt ?? null,
      shareZeroAt: incident?.shareZeroAt ?? null,
      timeToMitigateMs: incident?.timeToMitigateMs ?? null,
      fromFirstBadEvidenceMs: fromBad,
      rollbackSteps: steps,
      open: incident?.open ?? [],
      text: incident === null
        ? NOT_IN_RECORD
        : incident.mitigatedAt === null
        ? "mitigated at: not in the record (no pause took effect and V2's share did not reach 0); time to mitigate: insufficient evidence."
        : `mitigated at ${iso(incident.mitigatedAt)}; time to mitigate ${duration(incident.timeToMitigateMs!)} from the first reaction${fromBad === null ? "" : `, ${duration(fromBad)} from the first bad evidence`}; V2's share ${incident.shareZeroAt === null ? "did not reach 0" : `reached 0 at ${iso(incident.shareZeroAt)}`}.`,
    },
    decisions: { automatic: decisions.filter((e) => e.automatic).length, operator: decisions.filter((e) => !e.automatic).length, list: decisions },
    evidence: incident?.evidence ?? [],
    failedValidations: record.validations.filter((v) => v.verdict === "fail").map((v) => {
      const reasons = (v.report as { reasons?: unknown }).reasons;
      return { at: v.at, kind: v.kind, reasons: Array.isArray(reasons) ? reasons.map(String) : [] };
    }),
    lessons: record.lessons,
  };
}

function summaryOf(r: IncidentRecord): string[] {
  const { record, incident } = r;
  const now = record.rollout === null ? "no rollout is in the record" : `the rollout is ${record.rollout.detail} with V2 at ${pct(record.rollout.shareBp)}`;
  if (incident === null) return [`The record of migration "${record.migrationId}" holds no incident: no rollback, pause, hold or operator command; ${r.failedJudgements} judgement(s) failed. Now ${now}.`];
  const out = [`Migration "${record.migrationId}": the incident began ${iso(incident.startedAt)} with V2 at ${pct(incident.shareAtStart)}${incident.firstBadEvidence === null ? "" : ` (${incident.firstBadEvidence.reason})`}.`];
  out.push(`First reaction: ${incident.detectedBy.what} by ${incident.detectedBy.who} at ${iso(incident.detectedBy.at)}; latest: ${incident.latest.what} by ${incident.latest.who} at ${iso(incident.latest.at)}${incident.latest.why === "" ? "" : ` (${incident.latest.why})`}.`);
  out.push(`Callers: ${impactSentence(record.impact)}.`);
  out.push(`Now ${now}; ${incident.open.length === 0 ? "nothing is open" : `still open: ${incident.open.join("; ")}`}.`);
  return out;
}

/** @internal The post-mortem as markdown. */
export function postmortemMarkdown(p: Postmortem): string {
  const row = (e: IncidentEvent): string => `| ${iso(e.at)} | ${cell(e.what)} | ${cell(e.who)} | ${cell(e.why)} | ${e.shareFrom === null || e.shareTo === null ? "—" : `${pct(e.shareFrom)} → ${pct(e.shareTo)}`} |`;
  const out = [`# Post-mortem: migration ${p.migrationId}`, "", `Draft written ${iso(Math.floor(p.generatedAt / 1000) * 1000)} from ${p.store} by \`molt report --postmortem\`. Fill in what is in \`{{braces}}\`. Severity: {{severity}}. Incident commander: {{incident commander}}.`, ""];
  out.push("## Summary", "", p.summary.join(" "), "", "{{What callers saw, in a sentence.}}", "");
  out.push("## Timeline (UTC)", "", `Every decision and operator command, flags set by people and nodes stopped; ${p.quietJudgements} judgement(s) that held the stage without failing are left out.`, "");
  if (p.timeline.length === 0) out.push("Not in the record: nothing was decided or commanded.", "");
  else out.push("| time | what | who | why | V2 share |", "| --- | --- | --- | --- | --- |", ...p.timeline.map(row), "");
  out.push("## Impact", "", `${p.impactText}.`, "");
  if (p.impact !== null) out.push(`Over every recorded window, ${iso(p.impact.from)} to ${iso(p.impact.to)}; by error: V2 ${tags(p.impact.v2.byTag)}, V1 ${tags(p.impact.v1.byTag)}.`, "");
  out.push("## Detection", "", `${cap(p.detection.text)}`, "");
  out.push("## Mitigation", "", `${cap(p.mitigation.text)}`, "");
  if (p.mitigation.rollbackSteps.length > 0) out.push("The rollback's steps:", "", ...p.mitigation.rollbackSteps.map((s) => `- ${s.ok ? "✓" : "✗"} ${s.step} in ${s.durationMs.toFixed(1)} ms: ${s.detail}`), "");
  if (p.mitigation.open.length > 0) out.push("Still open:", "", ...p.mitigation.open.map((o) => `- ${o}`), "");
  out.push("## Decisions", "", `${p.decisions.automatic} automatic (the rollout's own), ${p.decisions.operator} by operators.`, "");
  if (p.decisions.list.length > 0) out.push("| time | decision | by | why | V2 share |", "| --- | --- | --- | --- | --- |", ...p.decisions.list.map(row), "");
  out.push("## Contributing evidence", "");
  if (p.evidence.length === 0 && p.failedValidations.length === 0) out.push("Insufficient evidence: no failing judgement in the incident and no failed validation in the record.", "");
  for (const e of p.evidence) out.push(`- ${iso(e.at)} rule ${e.rule} failed: ${ruleValue(e.value)} against ${e.threshold}`);
  for (const v of p.failedValidations) out.push(`- ${iso(v.at)} validation ${v.kind} failed${v.reasons.length === 0 ? "" : `: ${v.reasons.slice(0, 3).join("; ")}`}`);
  if (p.evidence.length + p.failedValidations.length > 0) out.push("");
  out.push("## Root cause", "", "{{What in V2, the handler, the environment or molt's settings caused it.}}", "");
  out.push("## Lessons", "", ...(p.lessons.length === 0 ? ["None derived from the record."] : p.lessons.map((l) => `- ${l}`)), "", "{{The team's own lessons: what went well, what did not.}}", "");
  out.push("## Action items", "", "| item | owner | due | ticket |", "| --- | --- | --- | --- |", "| {{item}} | {{owner}} | {{due}} | {{ticket}} |", "");
  return out.join("\n");
}

const cap = (text: string): string => text.charAt(0).toUpperCase() + text.slice(1);
const tags = (byTag: Readonly<Record<string, number>>): string => Object.entries(byTag).map(([t, n]) => `${t} ${n}`).join(", ") || "none";
