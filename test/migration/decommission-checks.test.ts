/**
 * The checks before V1 goes, each failing on its own bad evidence: a V2
 * worker that does not answer, an open breaker, a last judgement that
 * failed; no judgement is insufficient evidence, never a pass.
 */
import { describe, expect, test } from "bun:test";
import type { Judgement, PoolHealth } from "../../mod.ts";
import { decommissionChecks } from "../../src/migration/decommission-checks.ts";

const worker = (id: string, ok: boolean) => ({ id, pid: 100, state: "ready" as const, ok, rssBytes: null, uptimeS: null, error: ok ? null : "no answer within 2000 ms" });
const health = (extra: Partial<PoolHealth> = {}): PoolHealth => ({ pool: "v2", state: "serving", healthy: true, breaker: "closed", workers: [worker("v2-0", true), worker("v2-1", true)], ...extra });
const judged = (verdict: Judgement["verdict"], reasons: string[] = []): Judgement => ({ verdict, critical: false, rules: [], reasons });
const statuses = (h: PoolHealth, j: Judgement | null) => Object.fromEntries(decommissionChecks(h, j).map((c) => [c.check, c.status]));

describe("decommission checks", () => {
  test("all pass on a healthy V2 whose last judgement passed", () => {
    expect(decommissionChecks(health(), judged("pass")).every((c) => c.ok)).toBe(true);
  });

  test("each fails on its own bad evidence, and says why", () => {
    const silent = decommissionChecks(health({ workers: [worker("v2-0", true), worker("v2-1", false)] }), judged("pass"));
    expect(silent[0]).toMatchObject({ check: "v2_workers_healthy", ok: false, detail: "1 of 2 V2 workers answered their health check; v2-1 (pid 100): no answer within 2000 ms" });
    expect(statuses(health({ workers: [] }), judged("pass")).v2_workers_healthy).toBe("fail");
    for (const breaker of ["open", "halfOpen", "isolated"] as const) expect(statuses(health({ breaker }), judged("pass")).v2_breaker_closed).toBe("fail");
    expect(statuses(health({ breaker: null }), judged("pass")).v2_breaker_closed).toBe("pass");
    const failed = decommissionChecks(health(), judged("fail", ["v2_error_rate fail: 0.2 vs 0.05"]))[2]!;
    expect(failed).toMatchObject({ status: "fail", detail: "the last judgement of V2 was fail: v2_error_rate fail: 0.2 vs 0.05" });
    expect(statuses(health(), judged("inconclusive")).last_judgement_passed).toBe("fail");
  });

  test("no judgement is insufficient evidence, and not ok", () => {
    const [, , last] = decommissionChecks(health(), null);
    expect([last!.status, last!.ok]).toEqual(["insufficient", false]);
  });
});
