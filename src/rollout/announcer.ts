/**
 * The announcer: turns each decision a rollout controller records into the
 * rollout event it stands for and publishes it, so that the event stream
 * and the decision log cannot disagree. It also keeps the rollout's
 * notifiers subscribed to the stream while the controller runs.
 *
 * @module
 */
import type { RolloutPlan } from "../../machines/rollout.ts";
import type { Judgement } from "../monitor/judge.ts";
import type { Decision } from "../store/tables/decisions.ts";
import type { Notifier } from "../notify/notifier.ts";
import type { RolloutEventName, RolloutEventStream, RolloutNotice, VerdictSummary } from "./rollout-events.ts";

/** A decision as the controller writes it to the decisions table. */
export type DecisionDraft = Omit<Decision, "id">;

/** The parts of the rollout's context after the decision that its event needs. */
export interface AfterDecision {
  readonly plan: RolloutPlan;
  /** The stage index (-1 before the first, the number of stages once promoted). */
  readonly stage: number;
  readonly failures: number;
  readonly inconclusive: number;
}

type Detail = Record<string, string | number | boolean | null>;
type Told = { readonly event: RolloutEventName; readonly trigger: "operator" | "rollout"; readonly detail: Detail };

/** Publishes one rollout's events; one per controller. */
export class Announcer {
  /** The stage and cause of the last `stage.held` told: the same hold again is a `window.judged`, not a new notification. */
  private heldAs: string | null = null;
  private readonly unsubscribe: readonly (() => void)[];

  constructor(private readonly stream: RolloutEventStream, notifiers: readonly Notifier[]) {
    this.unsubscribe = notifiers.map((n) => stream.subscribe((e) => n.notify(e)));
  }

  /** Publish the event `d` stands for (none for a restart of the controller). */
  decided(d: DecisionDraft, after: AfterDecision, recorded: boolean): void {
    const told = this.classify(d, after);
    if (told === null) return;
    const { stages } = after.plan;
    const inputs = d.inputs;
    this.stream.emit({
      event: told.event,
      rolloutId: d.rolloutId,
      at: d.at,
      state: d.stateTo,
      stage: after.stage >= 0 && after.stage < stages.length ? after.stage + 1 : null,
      stages: stages.length,
      shareBp: d.shareTo,
      previousShareBp: d.shareFrom,
      elapsedMs: typeof inputs.elapsedMs === "number" ? inputs.elapsedMs : 0,
      reason: d.reason,
      trigger: told.trigger,
      by: typeof inputs.by === "string" ? inputs.by : null,
      verdict: summary(inputs.judgement as Judgement | undefined),
      detail: told.detail,
      recorded,
    });
  }

  /** Stop feeding the notifiers (they stay the caller's to close). */
  close(): void {
    for (const off of this.unsubscribe) off();
  }

  private classify(d: DecisionDraft, after: AfterDecision): Told | null {
    const told = this.of(d, after);
    if (told !== null && told.event !== "stage.held" && told.event !== "window.judged") this.heldAs = null;
    return told;
  }

  private of(d: DecisionDraft, after: AfterDecision): Told | null {
    const rollout = (event: RolloutEventName, detail: Detail = {}): Told => ({ event, trigger: "rollout", detail });
    const operator = (event: RolloutEventName, detail: Detail = {}): Told => ({ event, trigger: "operator", detail });
    const inputs = d.inputs;
    switch (d.kind) {
      case "started":
        return operator("rollout.started");
      case "judged":
        return this.judged(d, after);
      case "advanced":
        return rollout("stage.advanced", { from: d.stateFrom });
      case "paused":
        return rollout("rollout.paused", { streak: after.plan.inconclusiveToPause });
      case "promoted":
        return rollout("rollout.promoted");
      case "rolling_back":
        return rollout("rollback.started", { emergency: false, critical: (inputs.judgement as Judgement | undefined)?.critical ?? false });
      case "rolled_back": {
        const report = (inputs.report ?? null) as { emergency?: boolean; leftInFlight?: number; steps?: { step: string; ok: boolean }[] } | null;
        return { event: "rollback.completed", trigger: "rollout", detail: {
          emergency: report?.emergency ?? false,
          leftInFlight: report?.leftInFlight ?? 0,
          failedSteps: (report?.steps ?? []).filter((s) => !s.ok).map((s) => s.step).join(","),
        } };
      }
      case "tick_failed":
      case "held":
        return rollout("tick.failed", { error: str(inputs.error), message: str(inputs.detail), consecutive: num(inputs.consecutive), holding: d.kind === "held" });
      case "recovered":
        return rollout("tick.recovered", { failures: num(inputs.failures), discardedMs: num(inputs.discardedMs) });
    }
    // An operator's command, known by where it took the rollout (so a command added later is told too).
    if (!d.kind.startsWith("operator.")) return null;
    const command = d.kind.slice("operator.".length);
    if (d.stateTo === "rollingBack") return operator("rollback.started", { emergency: command.includes("emergency"), command });
    if (d.stateTo === "promoted") return operator("rollout.promoted", { command });
    // One stage on (from a pause too, which it ends): the stage is the news.
    if (d.stateTo.startsWith("active") && d.shareTo > d.shareFrom) return operator("stage.advanced", { from: d.stateFrom, command });
    if (d.stateTo === "paused" && d.stateFrom !== "paused") return operator("rollout.paused", { command });
    if (d.stateFrom === "paused" && d.stateTo.startsWith("active")) return operator("rollout.resumed", { command });
    return null;
  }

  /** A judgement that moved nothing: a held stage, a streak of inconclusive ones, or nothing to tell. */
  private judged(d: DecisionDraft, after: AfterDecision): Told {
    const quiet: Told = { event: "window.judged", trigger: "rollout", detail: {} };
    const judgement = d.inputs.judgement as Judgement | undefined;
    if (judgement === undefined || !d.stateTo.startsWith("active.")) return quiet;
    const { plan } = after;
    if (judgement.verdict === "inconclusive") {
      return { event: "verdict.inconclusive_streak", trigger: "rollout", detail: { streak: after.inconclusive, pauseAfter: plan.inconclusiveToPause } };
    }
    const stage = plan.stages[after.stage];
    const minDurationMs = stage?.minDurationMs ?? plan.shadowMs;
    const minSamples = stage?.minSamples ?? 0;
    const elapsedMs = num(d.inputs.elapsedMs);
    const samples = (d.inputs.samples ?? { v1: 0, v2: 0 }) as { v1: number; v2: number };
    const due = elapsedMs >= minDurationMs;
    // Before its time, a stage is not held: it is running.
    const cause = judgement.verdict === "fail" ? "failing"
      : !due ? null
      : judgement.verdict === "insufficient_data" ? "insufficient_data"
      : Math.min(samples.v1, samples.v2) < minSamples ? "too_few_samples"
      // A passing window of a stage that was due, and it did not advance: its checklist held it.
      : "checklist";
    if (cause === null) return quiet;
    const key = `${after.stage}:${cause}`;
    // A failure is told every time: each one brings the rollback closer.
    if (key === this.heldAs && cause !== "failing") return quiet;
    this.heldAs = key;
    return {
      event: "stage.held",
      trigger: "rollout",
      detail: { cause, failures: after.failures, rollbackAfter: plan.failuresToRollback, minDurationMs, minSamples, samplesV1: samples.v1, samplesV2: samples.v2 },
    };
  }
}

function summary(j: Judgement | undefined): VerdictSummary | null {
  if (j === undefined) return null;
  return {
    verdict: j.verdict,
    critical: j.critical,
    rules: j.rules.map((r) => ({ rule: r.rule, status: r.status })),
    failing: j.rules.filter((r) => r.status === "fail" || r.status === "inconclusive").map((r) => ({ rule: r.rule, status: r.status, value: r.value, threshold: r.threshold })),
  };
}

const str = (v: unknown): string => (typeof v === "string" ? v : String(v ?? ""));
const num = (v: unknown): number => (typeof v === "number" ? v : 0);
