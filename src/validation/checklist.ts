/**
 * Stage checklists, evaluated from what the store recorded while V2 held a
 * share: every judged window at that share (the monitor's rules, V2's
 * sessions and breaker as read at each window) and V2's breaker journal.
 * Each item passes or fails with its evidence, and says "insufficient" when
 * the record holds none — never "pass".
 *
 * @module
 */
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

/**
 * How an item came out. "insufficient": the record holds no evidence either
 * way; "not_applicable": V2 has no such feature (no breaker, affinity "none").
 */
export type ChecklistStatus = "pass" | "fail" | "insufficient" | "not_applicable";

/** One item of a checklist. */
export interface ChecklistItem {
  readonly item: "error_rate" | "latency" | "memory_growth" | "worker_lifecycle" | "breaker" | "affinity" | "telemetry";
  readonly status: ChecklistStatus;
  readonly evidence: string;
}

/** A stage's checklist. */
export interface Checklist {
  readonly shareBp: number;
  /** Judged windows at this share. */
  readonly windows: number;
  readonly items: readonly ChecklistItem[];
  /** "fail" if an item fails, else "insufficient" if one lacks evidence, else "pass". */
  readonly verdict: "pass" | "fail" | "insufficient";
  /** `verdict === "pass"`. */
  readonly passed: boolean;
}

interface RuleRecord {
  rule: string;
  status: string;
  value: number | null;
  threshold: number;
  stats?: Record<string, number>;
}

interface ArmRecord {
  calls?: number;
  errors?: number;
  p99Ms?: number;
  crashes?: number;
  latencySampleSize?: number;
  sessions?: { calls: number; moved: number; rebound: number };
  affinity?: string;
  breaker?: string | null;
}

interface JudgedInputs {
  judgement?: { rules?: RuleRecord[] };
  v2?: ArmRecord;
}

const NO_WINDOW = "no judged window at this share";

/**
 * Evaluate the checklist of the stage at `shareBp` from the store.
 *
 * @example
 * ```ts
 * import { openStore, stageChecklist } from "molt";
 * const store = await openStore(":memory:");
 * const list = await stageChecklist(store, "m1", 500);
 * console.log(list.windows, list.verdict); // 0 insufficient
 * await store.close();
 * ```
 */
export async function stageChecklist(store: Store, migrationId: string, shareBp: number, options: { v2Pool?: string } = {}): Promise<Checklist> {
  const decisions = (await store.decisions.list(migrationId)).filter((d) => d.shareFrom === shareBp && (d.inputs as JudgedInputs).judgement !== undefined);
  const windows = decisions.map((d) => d.inputs as JudgedInputs);
  const rules = (name: string): RuleRecord[] => windows.flatMap((w) => w.judgement?.rules?.filter((r) => r.rule === name) ?? []);
  const none = windows.length === 0;
  const items: ChecklistItem[] = [];
  const max = (xs: (number | null | undefined)[]): number => Math.max(0, ...xs.filter((x): x is number => typeof x === "number"));
  const percent = (x: number): string => `${(100 * x).toFixed(2)}%`;

  /** An item from the monitor's rules: fail if any failed, pass if `judgedBy` was judged at least once, else insufficient. */
  const fromRules = (item: ChecklistItem["item"], names: string[], judgedBy: string, unjudged: string, describe: (judged: RuleRecord[]) => string): void => {
    const failed = names.flatMap(rules).filter((r) => r.status === "fail");
    const judged = rules(judgedBy).filter((r) => r.status === "pass");
    items.push(
      none ? { item, status: "insufficient", evidence: NO_WINDOW }
      : failed.length > 0 ? { item, status: "fail", evidence: `${failed.length} of ${windows.length} windows failed ${[...new Set(failed.map((r) => r.rule))].join(", ")}` }
      : judged.length === 0 ? { item, status: "insufficient", evidence: unjudged }
      : { item, status: "pass", evidence: describe(judged) },
    );
  };
  const tooFewCalls = `no window at this share had enough calls to judge (${windows.length} windows under the monitor's minCalls)`;
  fromRules("error_rate", ["v2_error_rate", "v2_error_rate_critical", "error_rate_vs_v1"], "v2_error_rate", tooFewCalls, (judged) =>
    `highest V2 error rate ${percent(max(judged.map((r) => r.value)))} over ${judged.length} judged windows`);
  fromRules("latency", ["v2_p99_ms", "p99_vs_v1"], "v2_p99_ms", tooFewCalls, (judged) =>
    `highest V2 p99 ${max(judged.map((r) => r.value)).toFixed(1)} ms over ${judged.length} judged windows`);
  fromRules("memory_growth", ["memory_growth_per_hour", "v2_memory_percent"], "memory_growth_per_hour", "growth was never judged: the RSS samples spanned too little time or scattered too widely to bound it", (judged) =>
    `growth bounded under its limit in ${judged.length} of ${windows.length} windows (highest upper bound ${percent(max(judged.map((r) => r.stats?.high)))}/h)`);
  fromRules("worker_lifecycle", ["worker_failure_rate"], "worker_failure_rate", tooFewCalls, () =>
    `${windows.reduce((n, w) => n + (w.v2?.crashes ?? 0), 0)} crashes counted in the windows`);
  items.push(await breakerItem(store, options.v2Pool ?? "v2", decisions, windows));
  items.push(affinityItem(windows));

  const blind = windows.filter((w) => !(w.v2?.calls && w.v2.calls > 0 && (w.v2.latencySampleSize ?? 0) > 0));
  items.push(
    none ? { item: "telemetry", status: "insufficient", evidence: NO_WINDOW }
    : blind.length > 0 ? { item: "telemetry", status: "fail", evidence: `${blind.length} of ${windows.length} windows had no V2 calls or latencies` }
    : { item: "telemetry", status: "pass", evidence: `every window had V2 calls and a latency sample (${windows.reduce((n, w) => n + (w.v2?.calls ?? 0), 0)} calls in all)` },
  );
  const verdict = items.some((i) => i.status === "fail") ? "fail" : items.some((i) => i.status === "insufficient") ? "insufficient" : "pass";
  return { shareBp, windows: windows.length, items, verdict, passed: verdict === "pass" };
}

/** The breaker: its state at every window, and its journal between the first and last of them. */
async function breakerItem(store: Store, v2Pool: string, decisions: readonly { at: number }[], windows: readonly JudgedInputs[]): Promise<ChecklistItem> {
  const item = "breaker";
  if (windows.length === 0) return { item, status: "insufficient", evidence: NO_WINDOW };
  const all = windows.map((w) => w.v2?.breaker);
  if (all.every((s) => s === null)) return { item, status: "not_applicable", evidence: `V2 (${v2Pool}) has no breaker` };
  // A bypassed breaker (the circuit_breaker flag off) guarded nothing: its windows say nothing about it.
  const states = all.filter((s) => s !== "bypassed");
  if (states.every((s) => s === null)) return { item, status: "not_applicable", evidence: `V2's breaker was bypassed (circuit_breaker off) at every window` };
  const breakerId = `breaker:${v2Pool}`;
  const from = decisions[0]!.at;
  const to = decisions.at(-1)!.at;
  const journal = (await store.journal.read(breakerId)).filter((e) => e.at >= from && e.at <= to);
  const opened = journal.filter((e) => e.event.type === "breaker.opened").length;
  const closed = journal.filter((e) => e.event.type === "breaker.closed").length;
  const notClosed = states.filter((s) => typeof s === "string" && s !== "closed").length;
  const seen = states.filter((s) => typeof s === "string").length;
  const evidence = `${seen === 0 ? "no state read at the windows" : `${notClosed} of ${seen} windows found it not closed`}; ${breakerId} journal: ${opened} opened, ${closed} closed at this share`;
  if (notClosed > 0 || opened > closed) return { item, status: "fail", evidence };
  return seen === 0 && journal.length === 0 ? { item, status: "insufficient", evidence } : { item, status: "pass", evidence };
}

/** Affinity, from V2's own record of where each session's calls ran. */
function affinityItem(windows: readonly JudgedInputs[]): ChecklistItem {
  const item = "affinity";
  if (windows.length === 0) return { item, status: "insufficient", evidence: NO_WINDOW };
  if (windows.every((w) => w.v2?.affinity === "none")) return { item, status: "not_applicable", evidence: 'V2 routes sessions without affinity ("none")' };
  const counted = windows.flatMap((w) => (w.v2?.sessions === undefined ? [] : [w.v2.sessions]));
  const calls = counted.reduce((n, s) => n + s.calls, 0);
  const moved = counted.reduce((n, s) => n + s.moved, 0);
  const rebound = counted.reduce((n, s) => n + s.rebound, 0);
  if (moved > 0) {
    const why = windows.some((w) => w.v2?.affinity === "hint") ? ' (affinity "hint" gives way when a worker is full: raise capacity, or use "strict" to wait for it)' : "";
    return { item, status: "fail", evidence: `${moved} of ${calls} session calls moved to another worker while theirs still served${why}` };
  }
  if (calls === 0) return { item, status: "insufficient", evidence: "no V2 call carried a session at this share" };
  return { item, status: "pass", evidence: `${calls} session calls kept their worker${rebound > 0 ? ` (${rebound} moved only after their worker was lost)` : ""}` };
}
