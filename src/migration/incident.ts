/**
 * The incident in a migration's record, as `molt incident` and `molt report
 * --postmortem` tell it: every decision and operator command with who and
 * why, the first bad evidence and the first reaction to it, what mitigated
 * it and when, and what is still open. Everything comes from the store; what
 * the store does not hold is null, never guessed.
 *
 * @module
 */
import { epochMs, nonEmptyString, option, required } from "../config.ts";
import { type Store, storeRule } from "../store/store.ts";
import type { OperatorCommand } from "../store/tables/commands.ts";
import type { Decision } from "../store/tables/decisions.ts";
import type { FlagChange } from "../store/tables/flags.ts";
import { pct } from "./format.ts";
import type { Impact } from "./impact.ts";
import { type MigrationRecord, readMigrationRecord } from "./record.ts";
import { iso, percent } from "./report.ts";

/** One entry of the incident's timeline. */
export interface IncidentEvent {
  readonly at: number;
  /** Where it is recorded: a rollout decision, an operator command, a flag change, a fleet node that stopped. */
  readonly source: "decision" | "command" | "flag" | "node";
  /** The decision's kind, "command <name> (<status>)", "flag <key> <old> → <new>", "node <id> stopped". */
  readonly what: string;
  /** Who: the operator named with it, or "rollout (automatic)". */
  readonly who: string;
  readonly automatic: boolean;
  readonly why: string;
  /** V2's share before and after (basis points); null where it did not change it. */
  readonly shareFrom: number | null;
  readonly shareTo: number | null;
}

/** A judgement's rule that failed. */
export interface FailedRule {
  readonly at: number;
  readonly rule: string;
  readonly value: number | null;
  readonly threshold: number;
}

/** The latest incident of a migration: the rollout attempt (since its last start) that holds the latest incident decision or command. */
export interface Incident {
  /** The earlier of the first bad evidence and the first reaction. */
  readonly startedAt: number;
  /** V2's share when it started (basis points). */
  readonly shareAtStart: number;
  /** The first judgement of the attempt that failed, before or at the first reaction; null when none did. */
  readonly firstBadEvidence: { readonly at: number; readonly reason: string } | null;
  /** The first decision or command that reacted (a rollback, pause, hold, or an operator's command). */
  readonly detectedBy: IncidentEvent;
  /** From the first bad evidence to the first reaction; null without bad evidence. */
  readonly detectionMs: number | null;
  /** The latest reaction (a rollback, pause or hold begun, an operator's command); the latest incident decision when there is none. */
  readonly latest: IncidentEvent;
  /** Pauses, rollbacks, flags set by people, nodes stopped while V2 had a share, commands not applied yet, since it started. */
  readonly mitigations: readonly IncidentEvent[];
  /** When the first pause took effect or V2's share reached 0; null when neither happened. */
  readonly mitigatedAt: number | null;
  /** When V2's share reached 0; null when it did not. */
  readonly shareZeroAt: number | null;
  /** From the first reaction to mitigatedAt; null when not mitigated. */
  readonly timeToMitigateMs: number | null;
  /** The failing rules of the attempt's failing judgements. */
  readonly evidence: readonly FailedRule[];
  /** "ongoing": nothing mitigated it; "mitigating": mitigated, but something is still open; "mitigated": nothing open. */
  readonly status: "ongoing" | "mitigating" | "mitigated";
  /** What keeps it from being resolved, one sentence each. */
  readonly open: readonly string[];
  /** What an operator should know that does not keep it open (a rollout left paused). */
  readonly notes: readonly string[];
}

/** A migration's record and the incident in it. */
export interface IncidentRecord {
  readonly record: MigrationRecord;
  /** Every decision (but judgements that held the stage without failing), operator command, flag set by a person, node stopped; oldest first. */
  readonly timeline: readonly IncidentEvent[];
  /** Judgements that held the stage without failing, left out of the timeline. */
  readonly quietJudgements: number;
  /** V2's share now (basis points): the store's pool_v2_share, which every router applies; else the rollout's, else the latest decision's; null when none is there. */
  readonly shareBp: number | null;
  /** Judgements that failed, in the whole record. */
  readonly failedJudgements: number;
  /** null when the record holds no incident. */
  readonly incident: Incident | null;
}

/** Commands an operator sends when something is wrong. */
const INCIDENT_COMMANDS = ["pause", "rollback", "abort", "emergency_rollback"];
/** Decisions that react to something wrong ("recovered" ends a hold, it reacts to nothing). */
const REACTIONS = ["rolling_back", "paused", "held", "operator.rollback", "operator.abort", "operator.emergency_rollback", "operator.pause"];
const ROLLBACKS = ["rolling_back", "rolled_back", "operator.rollback", "operator.abort", "operator.emergency_rollback"];
const PAUSES = ["paused", "operator.pause"];
/** Who writes flags on the application's behalf; every other writer is a person. */
const MACHINE_WRITERS = /^(rollout |migration |rollback$)/;

type Judged = { readonly verdict?: string; readonly rules?: readonly { rule: string; status: string; value: number | null; threshold: number }[] };
const judgementOf = (d: Decision): Judged | undefined => (d.inputs as { judgement?: Judged }).judgement;
const failed = (d: Decision): boolean => judgementOf(d)?.verdict === "fail";

/**
 * Read a migration's record and find its incident.
 *
 * @internal
 */
export async function readIncident(store: Store, migrationId: string, now: number = Date.now()): Promise<IncidentRecord> {
  required("readIncident", "store", store, storeRule);
  required("readIncident", "migrationId", migrationId, nonEmptyString);
  option("readIncident", "now", now, epochMs, 0);
  const record = await readMigrationRecord(store, migrationId, now);
  const commands = (await store.commands.list(migrationId, 10_000)).reverse();
  const since = Math.min(record.decisions[0]?.at ?? Infinity, ...record.phases.map((p) => p.startedAt));
  const flags = (await store.flags.changes()).filter((c) => c.at >= since && c.changedBy !== null && !MACHINE_WRITERS.test(c.changedBy));
  const stopped = (await store.nodes.list(migrationId)).filter((n) => n.stoppedAt !== null);
  const decisionEvents = record.decisions.map((d) => decisionEvent(d, commands));
  const timeline = [
    ...decisionEvents.filter((_, i) => record.decisions[i]!.kind !== "judged" || failed(record.decisions[i]!)),
    ...commands.map(commandEvent),
    ...flags.map(flagEvent),
    ...stopped.map((n): IncidentEvent => ({ at: n.stoppedAt!, source: "node", what: `node ${n.nodeId} stopped`, who: `node ${n.nodeId} (${n.host}, pid ${n.pid})`, automatic: false, why: "its application stopped it (drained)", shareFrom: null, shareTo: null })),
  ].sort((a, b) => a.at - b.at);
  const quietJudgements = record.decisions.filter((d) => d.kind === "judged" && !failed(d)).length;
  const stored = (await store.flags.get("pool_v2_share"))?.value;
  const shareBp = typeof stored === "number" ? stored : record.rollout?.shareBp ?? record.decisions.at(-1)?.shareTo ?? null;
  return { record, timeline, quietJudgements, shareBp, failedJudgements: record.decisions.filter(failed).length, incident: incidentOf(record, shareBp ?? 0, commands, timeline, decisionEvents) };
}

function incidentOf(record: MigrationRecord, share: number, commands: readonly OperatorCommand[], timeline: readonly IncidentEvent[], decisionEvents: readonly IncidentEvent[]): Incident | null {
  const { decisions } = record;
  const asked = commands.filter((c) => INCIDENT_COMMANDS.includes(c.command) && c.status !== "failed");
  const marks = [...record.incidents.map((d) => ({ at: d.at, event: decisionEvents[decisions.indexOf(d)]! })), ...asked.map((c) => ({ at: c.requestedAt, event: commandEvent(c) }))]
    .sort((a, b) => a.at - b.at);
  if (marks.length === 0) return null;
  // A rollback's end or a hold's end says less than what began it: the latest reaction, when there is one.
  const latest = marks.filter((m) => m.event.source === "command" || REACTIONS.includes(m.event.what)).at(-1) ?? marks.at(-1)!;
  // The attempt the latest incident belongs to: since the rollout last started (a retry after a rollback starts again).
  const attempt = decisions.filter((d) => d.kind === "started" && d.at <= latest.at).at(-1)?.at ?? -Infinity;
  const inAttempt = decisions.filter((d) => d.at >= attempt);
  const reactions = [
    ...inAttempt.filter((d) => REACTIONS.includes(d.kind)).map((d) => decisionEvents[decisions.indexOf(d)]!),
    ...asked.filter((c) => c.requestedAt >= attempt).map(commandEvent),
  ].sort((a, b) => a.at - b.at);
  const bad = inAttempt.find((d) => failed(d) && d.at <= (reactions.at(-1)?.at ?? latest.at));
  const detectedBy = (bad === undefined ? reactions[0] : reactions.find((r) => r.at >= bad.at)) ?? latest.event;
  const startedAt = Math.min(bad?.at ?? Infinity, detectedBy.at);
  const shareAtStart = bad?.shareFrom ?? (detectedBy.shareFrom ?? shareAt(decisions, startedAt));

  const candidates = timeline.filter((e) => e.at >= startedAt && isMitigation(e));
  const shareZeroAt = candidates.find((e) => e.shareTo === 0)?.at ?? null;
  // A node stopped once V2 serves nothing drained nothing of the incident.
  const mitigations = candidates.filter((e) => e.source !== "node" || e.at <= (shareZeroAt ?? Infinity));
  const pausedAt = mitigations.find((e) => PAUSES.includes(e.what))?.at ?? null;
  const mitigatedAt = shareZeroAt === null ? pausedAt : pausedAt === null ? shareZeroAt : Math.min(shareZeroAt, pausedAt);
  const { open, notes } = stillOpen(record, share, asked, inAttempt);
  return {
    startedAt,
    shareAtStart,
    firstBadEvidence: bad === undefined ? null : { at: bad.at, reason: bad.reason },
    detectedBy,
    detectionMs: bad === undefined ? null : detectedBy.at - bad.at,
    latest: latest.event,
    mitigations,
    mitigatedAt,
    shareZeroAt,
    timeToMitigateMs: mitigatedAt === null ? null : Math.max(0, mitigatedAt - detectedBy.at),
    evidence: inAttempt.filter(failed).flatMap((d) => (judgementOf(d)!.rules ?? []).filter((r) => r.status === "fail").map((r) => ({ at: d.at, rule: r.rule, value: r.value, threshold: r.threshold }))),
    status: open.length === 0 ? "mitigated" : mitigatedAt === null ? "ongoing" : "mitigating",
    open,
    notes,
  };
}

function isMitigation(e: IncidentEvent): boolean {
  if (e.source === "decision") return ROLLBACKS.includes(e.what) || PAUSES.includes(e.what);
  // Applied commands are in the timeline as the decisions they led to; the rest still shows what was asked for.
  if (e.source === "command") return INCIDENT_COMMANDS.some((c) => e.what.startsWith(`command ${c} (`)) && !e.what.endsWith("(applied)") && !e.what.endsWith("(failed)");
  return true;
}

/** What keeps the incident open, and what an operator should know besides. */
function stillOpen(record: MigrationRecord, share: number, asked: readonly OperatorCommand[], inAttempt: readonly Decision[]): { open: string[]; notes: string[] } {
  const open: string[] = [];
  const notes: string[] = [];
  const rollout = record.rollout;
  if (rollout?.state === "rollingBack") {
    const began = inAttempt.filter((d) => d.stateTo === "rollingBack").at(-1);
    open.push(`the rollback is not finished: the rollout is rollingBack${began === undefined ? "" : ` since ${iso(began.at)} (${began.kind}: ${began.reason})`}`);
  }
  for (const c of asked.filter((x) => x.status === "pending" || x.status === "claimed")) {
    open.push(`command ${c.id} (${c.command}, requested by ${c.requestedBy ?? "someone unnamed"} at ${iso(c.requestedAt)}) is ${c.status}: the application has not applied it`);
  }
  const hold = inAttempt.filter((d) => d.kind === "held" || d.kind === "recovered").at(-1);
  if (hold?.kind === "held") open.push(`the rollout's ticks are failing: held since ${iso(hold.at)} (${hold.reason})`);
  const judged = record.decisions.filter((d) => judgementOf(d) !== undefined).at(-1);
  if (share > 0 && judged !== undefined && failed(judged)) open.push(`V2 still serves ${pct(share)} and its latest judgement (${iso(judged.at)}) failed: ${judged.reason}`);
  const rolledBack = inAttempt.filter((d) => d.kind === "rolled_back").at(-1);
  const steps = (rolledBack?.inputs as { report?: { steps?: { step: string; ok: boolean; detail: string }[] } } | undefined)?.report?.steps ?? [];
  for (const s of steps.filter((x) => !x.ok)) open.push(`the rollback's step ${s.step} failed: ${s.detail}`);
  if (rollout?.state === "paused") notes.push(`the rollout stays paused with V2 at ${pct(share)}: resume it (molt rollout resume) or roll back`);
  if (rollout?.state === "rolledBack") notes.push("V2's share is 0: V1 serves every call");
  return { open, notes };
}

/** V2's share after the last decision at or before `at`. */
const shareAt = (decisions: readonly Decision[], at: number): number => decisions.filter((d) => d.at <= at).at(-1)?.shareTo ?? 0;

function decisionEvent(d: Decision, commands: readonly OperatorCommand[]): IncidentEvent {
  const automatic = !d.kind.startsWith("operator.");
  const inputs = d.inputs as { by?: unknown; leader?: { nodeId: string; term: number } };
  // An operator decision names who asked; one replayed from a queued command (an emergency heard by the next leader) names them in the command.
  const asker = automatic ? undefined : commands.filter((c) => c.command === d.kind.slice("operator.".length) && c.requestedAt <= d.at).at(-1)?.requestedBy;
  const leader = inputs.leader === undefined ? "" : `, node ${inputs.leader.nodeId} term ${inputs.leader.term}`;
  const who = typeof inputs.by === "string" ? inputs.by : automatic ? `rollout (automatic${leader})` : (asker ?? "an operator (not named)");
  return { at: d.at, source: "decision", what: d.kind, who, automatic, why: d.reason, shareFrom: d.shareFrom, shareTo: d.shareTo };
}

function commandEvent(c: OperatorCommand): IncidentEvent {
  const reason = typeof c.args.reason === "string" ? c.args.reason : "";
  const error = c.status === "failed" && c.result !== null ? `; it failed: ${String(c.result.error)}` : "";
  return { at: c.requestedAt, source: "command", what: `command ${c.command} (${c.status})`, who: c.requestedBy ?? "someone unnamed", automatic: false, why: `${reason}${error}`, shareFrom: null, shareTo: null };
}

function flagEvent(c: FlagChange): IncidentEvent {
  const show = (v: unknown): string => (c.key === "pool_v2_share" && typeof v === "number" ? pct(v) : JSON.stringify(v));
  const share = c.key === "pool_v2_share" && typeof c.newValue === "number";
  return {
    at: c.at, source: "flag", what: `flag ${c.key} ${show(c.oldValue)} → ${show(c.newValue)}`, who: c.changedBy!, automatic: false, why: c.reason ?? "",
    shareFrom: share && typeof c.oldValue === "number" ? c.oldValue : null, shareTo: share ? (c.newValue as number) : null,
  };
}

/** The customer impact in one sentence, or why there is none. */
export function impactSentence(impact: Impact | null): string {
  if (impact === null) return "not in the record: no window of calls was recorded for this migration";
  const arm = (name: string, a: Impact["v1"]): string => `${name} ${a.failed} of ${a.calls} calls failed for callers (${percent(a.errorRate)})`;
  const x = impact.excessV2Failures;
  const excess = x === null ? "V2's failures cannot be set against V1's rate (one arm served no call)" : `${Math.round(x.value)} V2 failure(s) beyond V1's rate (95% interval ${Math.round(x.low)} to ${Math.round(x.high)})`;
  return `${arm("V2", impact.v2)}; ${arm("V1", impact.v1)}; ${excess}; ${impact.v2.fallbacks} call(s) bound for V2 served by V1`;
}

/** How an event reads in a line: "14:02:10Z operator.pause by alice: why". */
export function eventLine(e: IncidentEvent): string {
  const share = e.source === "decision" && e.shareFrom !== e.shareTo ? ` (V2 ${pct(e.shareFrom!)} → ${pct(e.shareTo!)})` : "";
  return `${iso(e.at)} ${e.what} by ${e.who}${share}${e.why === "" ? "" : `: ${e.why}`}`;
}
