/**
 * Equivalence: the same operations on both arms, what legitimately differs
 * normalised away, every other difference reported with both values.
 */
import { describe, expect, test } from "bun:test";
import { defaultCases, validateEquivalence } from "../../mod.ts";
import { armPool } from "../routing/helpers.ts";

describe("validateEquivalence", () => {
  test("two arms serving the same handler are equivalent on the plan's operations", async () => {
    const [v1, v2] = await Promise.all([armPool("v1"), armPool("v2")]);
    const report = await validateEquivalence({ v1, v2, cases: defaultCases("shout") });
    expect(report.cases.filter((c) => !c.equal)).toEqual([]);
    expect(report.cases.map((c) => c.name)).toEqual([
      "ping", "describe: the commands served", "health: what it reports", "concurrent sessions", "error: unknown command",
      "error: malformed execute_program", "program: create, execute, list, delete", "error: program with a missing input",
    ]);
    const program = report.cases.find((c) => c.name.startsWith("program:"))!;
    expect(program.v1).toEqual({ result: { result: "MOLT VALIDATES BOTH ARMS" }, listed: ["validation-program"], deleted: true, after: [] });
    expect(report.cases.find((c) => c.name === "error: unknown command")!.v1).toEqual({ error: "PythonError", type: "UnknownCommand" });
    await Promise.all([v1.stop(), v2.stop()]);
  }, 30_000);

  test("every difference is reported with its path and both values", async () => {
    const [v1, v2] = await Promise.all([armPool("v1"), armPool("v2", { env: { MOLT_ARM: "v2", MOLT_FAULT: "differ", MOLT_V2_EXTRA: "1" } })]);
    const report = await validateEquivalence({
      v1, v2,
      extraCases: [{ name: "work", run: (a) => a.execute("work", { x: 41 }) }],
    });
    const failed = Object.fromEntries(report.cases.filter((c) => !c.equal).map((c) => [c.name, c.differences]));
    expect(failed.work).toEqual([{ path: "value", v1: 41, v2: 42 }]);
    expect(failed["describe: the commands served"]!.length).toBeGreaterThan(0);
    expect(report.failed).toBe(2);
    await Promise.all([v1.stop(), v2.stop()]);
  }, 30_000);

  test("ignore and normalize hooks remove what legitimately differs", async () => {
    const [v1, v2] = await Promise.all([armPool("v1"), armPool("v2", { env: { MOLT_ARM: "v2", MOLT_FAULT: "differ" } })]);
    const report = await validateEquivalence({
      v1, v2, cases: [{ name: "answer", run: (a) => a.execute("answer", { x: 1 }) }, { name: "work", run: (a) => a.execute("work", { x: 1 }) }],
      ignore: ["arm", "pid"],
      normalize: (v, name) => (name === "work" ? { value: "any" } : v),
    });
    expect([report.passed, report.failed]).toEqual([2, 0]);
    await Promise.all([v1.stop(), v2.stop()]);
  }, 30_000);
});
