/**
 * Rollout metrics for StatsD: what each rollout event says about a rollout
 * (its share, its stage, the time in it, the judgements by rule and outcome,
 * rollbacks, operator commands), sent by the StatsD sink when it is given a
 * rollout event stream (`attachStatsd(bus, { rollouts })`), with the sink's
 * prefix and tags and the tag `rollout`. docs/telemetry.md lists them.
 *
 * @module
 */
import type { RolloutNotice } from "../rollout/rollout-events.ts";

type Tags = Record<string, string>;

/** The part of a StatsD client the rollout metrics use (hot-shots' StatsD has it). */
export interface RolloutMetricsClient {
  gauge(name: string, value: number, tags: Tags): void;
  increment(name: string, value: number, tags: Tags): void;
}

/** Send the metrics of one rollout event. */
export function sendRolloutMetrics(client: RolloutMetricsClient, e: RolloutNotice): void {
  const rollout = { rollout: e.rolloutId };
  client.increment("rollout.events", 1, { ...rollout, event: e.event });
  client.gauge("rollout.share_bp", e.shareBp, rollout);
  // 0 outside the stages (shadow, rolled back); the number of stages + 1 once promoted or decommissioned.
  const stage = e.stage ?? (e.shareBp === 10_000 ? e.stages + 1 : 0);
  client.gauge("rollout.stage", stage, rollout);
  client.gauge("rollout.stage_elapsed_ms", e.elapsedMs, rollout);
  // Said again at every tick that judged or failed, not only when a hold begins and ends: a gauge left at 1
  // by a process that stopped while held (nothing would ever say 0) is put right by the next good tick.
  const held = e.event === "tick.failed" ? (e.detail.holding === true ? 1 : null) : e.event === "tick.recovered" || isJudgement(e) ? 0 : null;
  if (held !== null) client.gauge("rollout.held", held, rollout);
  if (e.verdict !== null && isJudgement(e)) {
    client.increment("rollout.judgements", 1, { ...rollout, verdict: e.verdict.verdict });
    for (const r of e.verdict.rules) client.increment("rollout.rules", 1, { ...rollout, rule: r.rule, outcome: r.status });
  }
  if (e.event === "rollback.started") {
    client.increment("rollout.rollbacks", 1, { ...rollout, trigger: e.trigger, emergency: String(e.detail.emergency === true) });
  }
  if (e.trigger === "operator") {
    const command = typeof e.detail.command === "string" ? e.detail.command : COMMANDS[e.event] ?? e.event;
    client.increment("rollout.operator_commands", 1, { ...rollout, command });
  }
}

/** Events that come from one judgement of a window (counted once each: a rollback after one is the same judgement). */
function isJudgement(e: RolloutNotice): boolean {
  return e.trigger === "rollout" && ["window.judged", "stage.advanced", "stage.held", "verdict.inconclusive_streak", "rollout.paused", "rollout.promoted", "rollback.started"].includes(e.event);
}

/** The command behind an operator's event, when the event does not name it. */
const COMMANDS: Partial<Record<string, string>> = {
  "rollout.started": "start",
  "rollout.paused": "pause",
  "rollout.resumed": "resume",
  "rollout.promoted": "promote",
  "rollback.started": "rollback",
};
