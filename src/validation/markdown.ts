/**
 * Validation reports as markdown (their JSON form is the report object
 * itself).
 *
 * @module
 */
import type { EquivalenceReport } from "./equivalence.ts";
import type { FaultReport } from "./faults.ts";
import type { LoadReport } from "./load.ts";
import type { Estimate } from "./statistics.ts";

const cell = (v: unknown): string => JSON.stringify(v)?.replace(/\|/g, "\\|").slice(0, 120) ?? "";
const est = (e: Estimate, digits = 2): string => `${e.value.toFixed(digits)} [${e.low.toFixed(digits)}, ${e.high.toFixed(digits)}]`;

/**
 * A validation report as markdown, with a heading of the given level.
 *
 * @example
 * ```ts
 * import { validationMarkdown } from "molt";
 * console.log(validationMarkdown({ kind: "equivalence", passed: 1, failed: 0, cases: [], verdict: "pass" }).split("\n")[0]); // ## Equivalence: pass (1 passed, 0 failed)
 * ```
 */
export function validationMarkdown(report: EquivalenceReport | LoadReport | FaultReport, level = 2): string {
  const h = "#".repeat(level);
  const out: string[] = [];
  if (report.kind === "equivalence") {
    out.push(`${h} Equivalence: ${report.verdict} (${report.passed} passed, ${report.failed} failed)`, "", "| case | equal | differences |", "| --- | --- | --- |");
    for (const c of report.cases) {
      const diffs = c.differences.slice(0, 3).map((d) => `\`${d.path || "(value)"}\`: V1 ${cell(d.v1)}, V2 ${cell(d.v2)}`).join("; ");
      out.push(`| ${c.name} | ${c.equal ? "yes" : "**no**"} | ${diffs}${c.differences.length > 3 ? ` (and ${c.differences.length - 3} more)` : ""} |`);
    }
  } else if (report.kind === "faults") {
    const ms = (v: number | null): string => (v === null ? "not within the run" : `${v.toFixed(0)} ms`);
    out.push(`${h} Fault recovery: ${report.verdict}`, "", "| fault | arm | back to full capacity | first success | failed | lost | retried, then ok |", "| --- | --- | --- | --- | --- | --- | --- |");
    for (const r of report.results) {
      for (const [arm, x] of [["V1", r.v1], ["V2", r.v2]] as const) {
        out.push(`| ${r.fault} | ${arm} | ${ms(x.recoveredMs)} | ${ms(x.firstSuccessMs)} | ${x.failed} of ${x.calls} | ${x.lost} | ${x.retriedOk} |`);
      }
    }
  } else {
    out.push(`${h} Load: ${report.verdict}`, "", `${report.users} users, ${report.blocks} alternating blocks; values with 99% intervals.`, "");
    out.push("| | calls | throughput (calls/s) | p50 ms | p90 ms | p99 ms | error rate |", "| --- | --- | --- | --- | --- | --- | --- |");
    for (const [name, a] of [["V1", report.v1], ["V2", report.v2]] as const) {
      out.push(`| ${name} | ${a.calls} | ${est(a.throughput, 0)} | ${est(a.p50Ms)} | ${est(a.p90Ms)} | ${est(a.p99Ms)} | ${est(a.errorRate, 4)} |`);
    }
    out.push("", "| V2 − V1 | difference | outcome |", "| --- | --- | --- |");
    for (const c of report.comparisons) out.push(`| ${c.measure} | ${est(c.difference, 4)}${c.pValue === undefined ? "" : ` (p = ${c.pValue.toPrecision(2)})`} | ${c.outcome} |`);
  }
  if (report.kind !== "equivalence" && report.reasons.length > 0) out.push("", ...report.reasons.map((r) => `- ${r}`));
  out.push("");
  return out.join("\n");
}
