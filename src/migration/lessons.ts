/**
 * What a migration's record teaches, and whether it met the plan's success
 * criteria: each sentence cites the decisions, windows or validations it
 * stands on, and a criterion without evidence is "not measured", never met.
 *
 * @module
 */
import type { OperatorCommand } from "../store/tables/commands.ts";
import type { Decision } from "../store/tables/decisions.ts";
import type { ValidationResult } from "../store/tables/validations.ts";
import { duration, pct } from "./format.ts";
import type { Impact } from "./impact.ts";

/** How a success criterion came out. */
export type CriterionStatus = "met" | "not met" | "not measured";

/** One of the plan's success criteria, with its evidence. */
export interface Criterion {
  readonly criterion: string;
  readonly status: CriterionStatus;
  readonly evidence: string;
}

type Rule = { readonly rule: string; readonly status: string; readonly value: number | null; readonly threshold: number };
type Judged = { readonly verdict?: string; readonly rules?: readonly Rule[] };

const judgementOf = (d: Decision): Judged | undefined => (d.inputs as { judgement?: Judged }).judgement;

/** Rules whose value rises toward a ceiling: within 20% of it is close. */
const CEILINGS = new Set([
  "v2_error_rate", "v2_error_rate_critical", "error_rate_vs_v1", "v2_p99_ms", "p99_vs_v1", "worker_failure_rate", "v2_cpu_percent",
  "v2_memory_percent", "memory_growth_per_hour", "v2_saturation_rate", "v2_queue_wait_p99_ms", "shadow_mismatch_rate",
]);

/** The operator command each intervention came from (the CLI's name for it). */
const COMMAND_OF: Readonly<Record<string, readonly string[]>> = {
  "operator.pause": ["pause"],
  "operator.resume": ["resume"],
  "operator.promote": ["promote"],
  "operator.promote_stage": ["promote_stage"],
  "operator.abort": ["abort"],
  "operator.rollback": ["rollback"],
  "operator.emergency_rollback": ["emergency_rollback"],
};

/** Lessons and recommendations from the record, each with its evidence. */
export function lessonsFrom(decisions: readonly Decision[], validations: readonly ValidationResult[], commands: readonly OperatorCommand[] = []): string[] {
  const out: string[] = [];
  const judged = decisions.filter((d) => judgementOf(d) !== undefined);
  const held = new Map<number, number>();
  for (const d of judged) if (judgementOf(d)!.verdict === "insufficient_data") held.set(d.shareTo, (held.get(d.shareTo) ?? 0) + 1);
  for (const [share, n] of held) {
    out.push(`The stage at ${pct(share)} was held for insufficient data in ${n} judgement(s): send it more traffic, or lower the stage's minSamples (decisions "judged" with verdict insufficient_data).`);
  }
  let streak = 0;
  let longest = 0;
  for (const d of judged) (streak = judgementOf(d)!.verdict === "inconclusive" ? streak + 1 : 0, longest = Math.max(longest, streak));
  if (longest > 0) out.push(`Judgements were inconclusive up to ${longest} in a row: a difference too small to tell at this traffic; longer stages or more traffic make it decidable.`);
  const close = new Map<string, { value: number; threshold: number }>();
  for (const d of judged) {
    for (const r of judgementOf(d)!.rules ?? []) {
      if (r.status !== "pass" || r.value === null || !CEILINGS.has(r.rule) || r.threshold <= 0) continue;
      if (r.value >= 0.8 * r.threshold && (close.get(r.rule)?.value ?? -Infinity) < r.value) close.set(r.rule, { value: r.value, threshold: r.threshold });
    }
  }
  for (const [rule, c] of close) out.push(`Rule ${rule} passed within 20% of its threshold (${Number(c.value.toPrecision(4))} against ${c.threshold}): watch it, or find why V2 is that close.`);
  // Each applied command explains one intervention: the latest one of its kind requested before it, not used yet.
  const unused = commands.filter((c) => c.status === "applied");
  decisions.forEach((d, i) => {
    if (!d.kind.startsWith("operator.")) return;
    out.push(`An operator intervened (${d.kind} at ${new Date(d.at).toISOString()}): ${d.reason || "no reason given"}${tookOf(d, decisions.slice(i + 1), unused)}.`);
  });
  for (const d of decisions.filter((x) => x.kind === "rolled_back")) out.push(`The rollout was rolled back at ${new Date(d.at).toISOString()}: ${d.reason}.`);
  for (const v of validations.filter((x) => x.verdict === "fail")) {
    const reasons = (v.report as { reasons?: unknown }).reasons;
    const found = Array.isArray(reasons) && reasons.length > 0 ? `: ${reasons.slice(0, 3).map(String).join("; ")}${reasons.length > 3 ? ` (and ${reasons.length - 3} more)` : ""}` : "";
    out.push(`Validation (${v.kind}, ${new Date(v.at).toISOString()}) failed${found}; fix what it found before the next attempt.`);
  }
  return out;
}

/** The plan's success criteria. */
export function successCriteria(decisions: readonly Decision[], validations: readonly ValidationResult[], impact: Impact | null): Criterion[] {
  const x = impact?.excessV2Failures ?? null;
  const faults = validations.filter((v) => v.kind === "faults");
  // Training exercises record themselves as validations of kind "training".
  const training = validations.filter((v) => v.kind === "training");
  const judged = decisions.filter((d) => judgementOf(d) !== undefined);
  const p99 = impact === null || impact.v1.p99Ms === null || impact.v2.p99Ms === null ? null : { v1: impact.v1.p99Ms, v2: impact.v2.p99Ms };
  return [
    x === null
      ? { criterion: "zero customer impact", status: "not measured", evidence: "no recorded window with calls on both arms" }
      : {
        criterion: "zero customer impact",
        status: x.low <= 0 && impact!.v2.fallbacks === 0 ? "met" : "not met",
        evidence: `V2's failures beyond V1's rate: ${Math.round(x.value)} (95% interval ${Math.round(x.low)} to ${Math.round(x.high)}); ${impact!.v2.fallbacks} fallback(s) to V1`,
      },
    p99 === null
      ? { criterion: "performance improved", status: "not measured", evidence: "no latency recorded on both arms" }
      : { criterion: "performance improved", status: p99.v2 <= p99.v1 ? "met" : "not met", evidence: `p99 over the whole rollout: V1 ${Number(p99.v1.toPrecision(3))} ms, V2 ${Number(p99.v2.toPrecision(3))} ms` },
    faults.length === 0
      ? { criterion: "error handling enhanced", status: "not measured", evidence: "no fault validation was recorded (molt validate faults)" }
      : { criterion: "error handling enhanced", status: faults.at(-1)!.verdict === "pass" ? "met" : "not met", evidence: `the last fault validation: ${faults.at(-1)!.verdict}` },
    judged.length === 0
      ? { criterion: "monitoring comprehensive", status: "not measured", evidence: "no window was judged" }
      : { criterion: "monitoring comprehensive", status: impact === null ? "not met" : "met", evidence: `${judged.length} judgements recorded with every rule; ${impact === null ? "no windows of calls recorded" : `${impact.v1.windows + impact.v2.windows} windows of calls recorded`}` },
    training.length === 0
      ? { criterion: "team trained", status: "not measured", evidence: "no training exercise was recorded as passed" }
      : { criterion: "team trained", status: training.every((v) => v.verdict === "pass") ? "met" : "not met", evidence: `${training.filter((v) => v.verdict === "pass").length} of ${training.length} recorded training exercise(s) passed` },
  ];
}

/** How long an intervention took: from the command's request to its decision, and for a pause, until the rollout went on. `unused`: applied commands not matched yet (the one matched is taken out). */
function tookOf(d: Decision, later: readonly Decision[], unused: OperatorCommand[]): string {
  const parts: string[] = [];
  const names = COMMAND_OF[d.kind] ?? [];
  const command = unused.filter((c) => names.includes(c.command) && c.requestedAt <= d.at).at(-1);
  if (command !== undefined) {
    unused.splice(unused.indexOf(command), 1);
    parts.push(`requested by ${command.requestedBy ?? "someone unnamed"} and applied ${duration(d.at - command.requestedAt)} later`);
  }
  if (d.kind === "operator.pause") {
    const end = later.find((x) => x.kind === "operator.resume" || x.kind.startsWith("operator.promote") || x.kind === "operator.abort" || x.kind.includes("rollback") || x.kind === "rolled_back");
    parts.push(end === undefined ? "still paused" : `paused for ${duration(end.at - d.at)} until ${end.kind}`);
  }
  return parts.length === 0 ? "" : ` (${parts.join("; ")})`;
}