/**
 * Stage checklists, evaluated from what the store recorded while V2 held a
 * share: every judged window at that share, and V2's breaker journal. Each
 * item passes or fails with its evidence.
 *
 * @module
 */
import { inShare, SHARE_FLAG } from "../flags/bucket.ts";
import type { Store } from "../store/store.ts";

/**
 * The stages the plan has checklists for (basis points).
 *
 * @example
 * ```ts
 * import { CHECKLIST_STAGES } from "molt";
 * console.log(CHECKLIST_STAGES); // [ 500, 2500, 5000, 10000 ]
 * ```
 */
export const CHECKLIST_STAGES: readonly number[] = [500, 2500, 5000, 10_000];

/** One item of a checklist. */
export interface ChecklistItem {
  readonly item: "error_rate" | "latency" | "memory_growth" | "worker_lifecycle" | "breaker" | "affinity" | "telemetry";
  readonly status: "pass" | "fail";
  readonly evidence: string;
}

/** A stage's checklist. */
export interface Checklist {
  readonly shareBp: number;
  /** Judged windows at this share. */
  readonly windows: number;
  readonly items: readonly ChecklistItem[];
  readonly passed: boolean;
}

interface RuleRecord {
  rule: string;
  status: string;
  value: number | null;
  threshold: number;
}

interface JudgedInputs {
  judgement?: { rules?: RuleRecord[] };
  v2?: { calls?: number; errors?: number; p99Ms?: number; crashes?: number; latencySampleSize?: number };
}

/**
 * Evaluate the checklist of the stage at `shareBp` from the store.
 *
 * @example
 * ```ts
 * import { openStore, stageChecklist } from "molt";
 * const store = await openStore(":memory:");
 * const list = await stageChecklist(store, "m1", 500);
 * console.log(list.windows, list.passed); // 0 false
 * await store.close();
 * ```
 */
export async function stageChecklist(store: Store, migrationId: string, shareBp: number, options: { v2Pool?: string } = {}): Promise<Checklist> {
  const decisions = (await store.decisions.list(migrationId)).filter((d) => d.shareFrom === shareBp && (d.inputs as JudgedInputs).judgement !== undefined);
  const windows = decisions.map((d) => d.inputs as JudgedInputs);
  const rules = (name: string): RuleRecord[] => windows.flatMap((w) => w.judgement?.rules?.filter((r) => r.rule === name) ?? []);
  const none = windows.length === 0;
  const items: ChecklistItem[] = [];
  const fromRules = (item: ChecklistItem["item"], names: string[], describe: (found: RuleRecord[]) => string): void => {
    const found = names.flatMap(rules);
    const failed = found.filter((r) => r.status === "fail");
    items.push({
      item,
      status: none || failed.length > 0 ? "fail" : "pass",
      evidence: none ? "no judged window at this share" : failed.length > 0 ? `${failed.length} of ${windows.length} windows failed ${[...new Set(failed.map((r) => r.rule))].join(", ")}` : describe(found),
    });
  };
  const max = (xs: (number | null | undefined)[]): number => Math.max(0, ...xs.filter((x): x is number => typeof x === "number"));
  fromRules("error_rate", ["v2_error_rate", "v2_error_rate_critical", "error_rate_vs_v1"], () => `highest V2 error rate ${(100 * max(rules("v2_error_rate").map((r) => r.value))).toFixed(2)}% over ${windows.length} windows`);
  fromRules("latency", ["v2_p99_ms", "p99_vs_v1"], () => `highest V2 p99 ${max(windows.map((w) => w.v2?.p99Ms)).toFixed(1)} ms over ${windows.length} windows`);
  fromRules("memory_growth", ["memory_growth_per_hour", "v2_memory_percent"], (found) => {
    const judged = found.filter((r) => r.rule === "memory_growth_per_hour" && r.status !== "skipped");
    return judged.length === 0 ? "no growth judged (samples spanned too little time)" : `highest growth ${(100 * max(judged.map((r) => r.value))).toFixed(1)}%/h`;
  });
  fromRules("worker_lifecycle", ["worker_failure_rate"], () => `${windows.reduce((n, w) => n + (w.v2?.crashes ?? 0), 0)} crashes counted in the windows`);

  const breakerId = `breaker:${options.v2Pool ?? "v2"}`;
  const from = decisions[0]?.at ?? 0;
  const to = decisions.at(-1)?.at ?? 0;
  const breaker = (await store.journal.read(breakerId)).filter((e) => e.at >= from && e.at <= to);
  const opened = breaker.filter((e) => e.event.type === "breaker.opened").length;
  const closed = breaker.filter((e) => e.event.type === "breaker.closed").length;
  items.push({
    item: "breaker",
    status: none || opened > closed ? "fail" : "pass",
    evidence: none ? "no judged window at this share" : `${breakerId}: ${opened} opened, ${closed} closed while at this share`,
  });

  // Stickiness: a sample of sessions inside this share is inside every larger one, and none flips with time.
  const sessions = Array.from({ length: 2000 }, (_, i) => `checklist-session-${i}`);
  const moved = sessions.filter((s) => inShare(SHARE_FLAG, s, shareBp) && !inShare(SHARE_FLAG, s, Math.min(10_000, shareBp + 1))).length;
  const inside = sessions.filter((s) => inShare(SHARE_FLAG, s, shareBp)).length;
  items.push({ item: "affinity", status: moved === 0 ? "pass" : "fail", evidence: `${inside} of 2000 sessions on V2 at this share; ${moved} would move back to V1 as the share grows` });

  const blind = windows.filter((w) => !(w.v2?.calls && w.v2.calls > 0 && (w.v2.latencySampleSize ?? 0) > 0));
  items.push({
    item: "telemetry",
    status: none || blind.length > 0 ? "fail" : "pass",
    evidence: none ? "no judged window at this share" : blind.length > 0 ? `${blind.length} of ${windows.length} windows had no V2 calls or latencies` : `every window had V2 calls and a latency sample (${windows.reduce((n, w) => n + (w.v2?.calls ?? 0), 0)} calls in all)`,
  });
  return { shareBp, windows: windows.length, items, passed: items.every((i) => i.status === "pass") };
}
