/**
 * The incident's messages — first notice, update, resolved — filled from
 * the migration's record. What the record cannot know (the severity, the
 * service's name, the incident commander, the cause) stays a `{{placeholder}}`
 * for the team; a record without an incident, or a "resolved" while
 * something is still open, is refused with what the record shows instead.
 *
 * @module
 */
import { option, type Rule } from "../config.ts";
import { duration, pct } from "./format.ts";
import { eventLine, type IncidentEvent, type IncidentRecord, impactSentence } from "./incident.ts";
import { iso } from "./report.ts";

/** Which message: the first notice, an update, or the all-clear. */
export type IncidentMessageKind = "notice" | "update" | "resolved";

/** How a message is written: plain text, markdown, or its filled fields as JSON. */
export type IncidentMessageFormat = "text" | "md" | "json";

/** Options of `incidentMessage`. */
export interface IncidentMessageOptions {
  /** "text", "md" or "json". Default "text". */
  readonly format?: IncidentMessageFormat;
  /** Minutes from now to the next update, a whole number from 1 to 1440; "resolved" has none. Default 30. */
  readonly nextUpdateMinutes?: number;
}

/** A line of the incident's record, as a message shows it. */
interface EventFields {
  readonly at: string;
  readonly what: string;
  readonly who: string;
  readonly automatic: boolean;
  readonly why: string;
}

/** Everything a message is filled with. */
export interface IncidentFields {
  readonly kind: IncidentMessageKind;
  readonly migrationId: string;
  /** When it was written (ISO 8601,). */
  readonly writtenAt: string;
  /** V2's share now (basis points): the store's pool_v2_share, else the rollout's; null when the record has neither. */
  readonly state: { readonly migration: string | null; readonly rollout: string | null; readonly v2ShareBp: number | null };
  /** The latest rollback, pause, hold or operator command. */
  readonly latest: EventFields;
  readonly startedAt: string;
  /** V2's share when it started (basis points). */
  readonly shareAtStartBp: number;
  readonly firstBadEvidence: { readonly at: string; readonly reason: string } | null;
  readonly detectedAt: string;
  readonly detectedBy: EventFields;
  /** What callers got, per arm, over every recorded window; null when none was recorded. */
  readonly impact: {
    readonly v2: { readonly calls: number; readonly failed: number; readonly errorRate: number | null };
    readonly v1: { readonly calls: number; readonly failed: number; readonly errorRate: number | null };
    readonly excessV2Failures: number | null;
    readonly fallbacks: number;
  } | null;
  readonly impactText: string;
  /** Pauses, rollbacks, flags set by people, nodes stopped, commands not applied yet. */
  readonly done: readonly EventFields[];
  readonly mitigatedAt: string | null;
  readonly shareZeroAt: string | null;
  readonly status: "ongoing" | "mitigating" | "mitigated";
  readonly open: readonly string[];
  readonly notes: readonly string[];
  /** When the next update is due (ISO 8601); null for "resolved". */
  readonly nextUpdateAt: string | null;
  readonly nextUpdateMinutes: number | null;
  /** Each placeholder left in the message, and what the team fills in. */
  readonly placeholders: Readonly<Record<string, string>>;
}

/** A message, or why it cannot be sent. */
export type IncidentMessage = { readonly text: string; readonly fields: IncidentFields } | { readonly refused: string };

const KINDS: readonly IncidentMessageKind[] = ["notice", "update", "resolved"];
const FORMATS: readonly IncidentMessageFormat[] = ["text", "md", "json"];
const oneOf = <T extends string>(values: readonly T[]): Rule<T> => ({ is: (v): v is T => values.includes(v as T), allowed: `one of ${values.map((x) => JSON.stringify(x)).join(", ")}` });

/** @internal `--next-update`: a whole number of minutes from 1 to 1440 (a day). */
export const nextUpdateRule: Rule<number> = { is: (v): v is number => Number.isInteger(v) && (v as number) >= 1 && (v as number) <= 1440, allowed: "a whole number of minutes from 1 to 1440" };

const PLACEHOLDERS: Readonly<Record<string, string>> = {
  "{{severity}}": "the severity you declared (1, 2 or 3; see docs/incident-response.md#severities)",
  "{{service}}": "the service callers know",
  "{{channel}}": "where updates are posted",
  "{{incident commander}}": "who leads the incident",
  "{{cause}}": "the cause, or \"not known yet\"",
  "{{next step}}": "what the team does next",
  "{{post-mortem link}}": "where the post-mortem will be",
};
const USED: Readonly<Record<IncidentMessageKind, readonly string[]>> = {
  notice: ["{{severity}}", "{{service}}", "{{channel}}", "{{incident commander}}"],
  update: ["{{severity}}", "{{service}}", "{{channel}}", "{{incident commander}}", "{{cause}}", "{{next step}}"],
  resolved: ["{{severity}}", "{{service}}", "{{cause}}", "{{post-mortem link}}"],
};

const seconds = (ms: number): number => Math.floor(ms / 1000) * 1000;
const eventFields = (e: IncidentEvent): EventFields => ({ at: iso(e.at), what: e.what, who: e.who, automatic: e.automatic, why: e.why });

/**
 * Fill the message `kind` from the record: refused when the record holds
 * no incident, and for "resolved" while something is still open.
 *
 * @internal
 */
export function incidentMessage(r: IncidentRecord, kind: IncidentMessageKind, options: IncidentMessageOptions = {}): IncidentMessage {
  option("incidentMessage", "kind", kind, oneOf(KINDS), "notice");
  const format = option("incidentMessage", "format", options.format, oneOf(FORMATS), "text");
  const minutes = option("incidentMessage", "nextUpdateMinutes", options.nextUpdateMinutes, nextUpdateRule, 30);
  const { record, incident } = r;
  if (incident === null) {
    const last = record.decisions.filter((d) => (d.inputs as { judgement?: { verdict?: string } }).judgement?.verdict === "fail").at(-1);
    const failing = last === undefined ? "no judgement failed" : `${r.failedJudgements} judgement(s) failed, the latest at ${iso(last.at)} (${last.reason}), and nothing reacted to them`;
    return { refused: `no incident in the record of migration "${record.migrationId}": no rollback, pause, hold or operator command was recorded (${record.decisions.length} decisions; ${failing}); nothing to announce` };
  }
  if (kind === "resolved" && incident.open.length > 0) {
    return { refused: `migration "${record.migrationId}" is not resolved: still open:\n${incident.open.map((o) => `  - ${o}`).join("\n")}\nsend "molt incident update" until these are closed` };
  }
  const impact = record.impact;
  const fields: IncidentFields = {
    kind,
    migrationId: record.migrationId,
    writtenAt: iso(seconds(record.generatedAt)),
    state: { migration: record.migration?.state ?? null, rollout: record.rollout?.detail ?? null, v2ShareBp: r.shareBp },
    latest: eventFields(incident.latest),
    startedAt: iso(incident.startedAt),
    shareAtStartBp: incident.shareAtStart,
    firstBadEvidence: incident.firstBadEvidence === null ? null : { at: iso(incident.firstBadEvidence.at), reason: incident.firstBadEvidence.reason },
    detectedAt: iso(incident.detectedBy.at),
    detectedBy: eventFields(incident.detectedBy),
    impact: impact === null ? null : {
      v2: { calls: impact.v2.calls, failed: impact.v2.failed, errorRate: impact.v2.errorRate },
      v1: { calls: impact.v1.calls, failed: impact.v1.failed, errorRate: impact.v1.errorRate },
      excessV2Failures: impact.excessV2Failures === null ? null : Math.round(impact.excessV2Failures.value),
      fallbacks: impact.v2.fallbacks,
    },
    impactText: impactSentence(impact),
    done: incident.mitigations.map(eventFields),
    mitigatedAt: incident.mitigatedAt === null ? null : iso(incident.mitigatedAt),
    shareZeroAt: incident.shareZeroAt === null ? null : iso(incident.shareZeroAt),
    status: incident.status,
    open: incident.open,
    notes: incident.notes,
    nextUpdateAt: kind === "resolved" ? null : iso(seconds(record.generatedAt) + minutes * 60_000),
    nextUpdateMinutes: kind === "resolved" ? null : minutes,
    placeholders: Object.fromEntries(USED[kind].map((p) => [p, PLACEHOLDERS[p]!])),
  };
  return { fields, text: format === "json" ? JSON.stringify(fields, null, 2) : render(lines(fields, r), format) };
}

type Line = readonly [label: string, value: string | readonly string[]];

function lines(f: IncidentFields, r: IncidentRecord): { headline: string; body: Line[] } {
  const incident = r.incident!;
  const word = f.kind === "resolved" ? "resolved" : { ongoing: "investigating", mitigating: "mitigating", mitigated: "mitigated, monitoring" }[f.status];
  const headline = `[SEV{{severity}}] {{service}}: V2 of migration "${f.migrationId}" — ${word}`;
  const rollout = r.record.rollout;
  const own = rollout === null || rollout.shareBp === f.state.v2ShareBp ? "" : ` at ${pct(rollout.shareBp)}`;
  const share = f.state.v2ShareBp === null ? "V2's share is not in the record" : `V2 serves ${pct(f.state.v2ShareBp)}`;
  const happened = `${eventLine(incident.latest)}. The rollout is ${f.state.rollout ?? "not in the record"}${own}${f.state.migration === null ? "" : ` (migration: ${f.state.migration})`}; ${share}.`;
  const began = `${f.startedAt} with V2 at ${pct(f.shareAtStartBp)}${f.firstBadEvidence === null ? "" : ` (first failing judgement: ${f.firstBadEvidence.reason})`}; detected ${f.detectedAt} by ${f.detectedBy.what} (${f.detectedBy.who})`;
  const done = incident.mitigations.length === 0 ? "nothing yet: no pause, rollback, flag set by hand or node stopped is in the record" : incident.mitigations.map(eventLine);
  const status = `${f.status}${f.open.length === 0 ? "" : `; still open: ${f.open.join("; ")}`}${f.notes.length === 0 ? "" : `; ${f.notes.join("; ")}`}.`;
  const next = `${f.nextUpdateAt} (in ${f.nextUpdateMinutes} min) in {{channel}}. Incident commander: {{incident commander}}.`;
  if (f.kind === "notice") return { headline, body: [["What happened", happened], ["Started", `${began}.`], ["Impact so far", `${f.impactText}.`], ["Done so far", done], ["Status", status], ["Next update", next]] };
  if (f.kind === "update") {
    return { headline, body: [["What happened", happened], ["Started", `${began}.`], ["Cause", "{{cause}}"], ["Impact so far", `${f.impactText} (as of ${f.writtenAt}).`], ["Done so far", done], ["Status", status], ["Next", "{{next step}}"], ["Next update", next]] };
  }
  const mitigated = incident.mitigatedAt === null ? "" : `; mitigated at ${f.mitigatedAt}, ${duration(incident.timeToMitigateMs!)} after it was detected`;
  const zero = f.shareZeroAt === null ? "" : `; V2's share 0 since ${f.shareZeroAt}`;
  return {
    headline,
    body: [["What happened", happened], ["Duration", `from ${f.startedAt}${mitigated}${zero}.`], ["Impact", `${f.impactText}.`], ["What was done", done], ["Cause", "{{cause}}"], ["Status", status], ["Post-mortem", "{{post-mortem link}} (its draft: molt report --postmortem)"]],
  };
}

function render({ headline, body }: { headline: string; body: Line[] }, format: "text" | "md"): string {
  const out = [format === "md" ? `**${headline}**` : headline, ""];
  for (const [label, value] of body) {
    const name = format === "md" ? `**${label}:**` : `${label}:`;
    if (typeof value === "string") out.push(`${name} ${value}`);
    else out.push(name, ...value.map((v) => `- ${v}`));
  }
  return out.join("\n");
}
