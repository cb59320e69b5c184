/**
 * What must hold immediately before V1 goes: every V2 worker answers its
 * health check, V2's breaker is not open, and the last judgement of V2
 * passed. No judgement at all is insufficient evidence, never a pass.
 *
 * @module
 */
import type { Judgement } from "../monitor/judge.ts";
import type { PoolHealth } from "../pool/types.ts";
import type { Check } from "./preflight.ts";

/** @internal The checks, from V2's health report and the rollout's last judgement. */
export function decommissionChecks(h: PoolHealth, last: Judgement | null): Check[] {
  const answered = h.workers.filter((w) => w.ok).length;
  const check = (name: string, status: Check["status"], detail: string): Check => ({ check: name, status, ok: status === "pass", detail });
  const silent = h.workers.filter((w) => !w.ok).map((w) => `; ${w.id} (pid ${w.pid}): ${w.error}`).join("");
  return [
    check("v2_workers_healthy", h.workers.length > 0 && answered === h.workers.length ? "pass" : "fail", `${answered} of ${h.workers.length} V2 workers answered their health check${silent}`),
    check("v2_breaker_closed", h.breaker === null || h.breaker === "closed" || h.breaker === "bypassed" ? "pass" : "fail", h.breaker === null ? "V2 has no breaker (basic pool)" : `V2's breaker is ${h.breaker}`),
    last === null
      ? check("last_judgement_passed", "insufficient", "insufficient evidence: V2 was never judged by this process")
      : check("last_judgement_passed", last.verdict === "pass" ? "pass" : "fail", `the last judgement of V2 was ${last.verdict}${last.reasons.length === 0 ? "" : `: ${last.reasons.join("; ")}`}`),
  ];
}
