/**
 * Fault recovery on real pools: each fault injected into each arm under
 * load; no call is ever lost; V2 recovers from every fault, V1 (no memory
 * limit) never recovers from a worker holding too much memory. And every way
 * the verdict can fail, on real pools and on made-up results.
 */
import { describe, expect, test } from "bun:test";
import { FAULT_KINDS, type FaultResult, faultVerdict, validateFaults } from "../../mod.ts";
import { Ledger } from "../../src/validation/faults.ts";
import { fixture, rejection } from "../helpers.ts";

const handler = fixture("echo_handler.py");
const quiet = { onStderr: () => {} };

test("every fault on both arms: nothing lost, V2 back to full capacity each time, and the verdict passes", async () => {
  const report = await validateFaults({
    // The hung worker is replaced once its call is past the deadline (300 ms) and the cancel grace: well within the run.
    v1: { name: "v1", strategy: "basic", handler, size: 2, cancelGraceMs: 500, ...quiet },
    v2: { name: "v2", handler, size: 2, cancelGraceMs: 500, ...quiet },
    durationMs: 2500,
    // Here the arms run the same handler: how much later V2's first success comes is scheduling alone (270 ms
    // against 1 ms once, with the suite two files at a time beside the Node suite). The timing rules fail on
    // made-up results below; this run checks that nothing is lost and that V2 recovers from every fault.
    recoveryFloorMs: 2000,
  });
  expect(report.results.map((r) => r.fault)).toEqual([...FAULT_KINDS]);
  for (const r of report.results) {
    expect([r.fault, r.v1.lost, r.v2.lost]).toEqual([r.fault, 0, 0]);
    expect([r.fault, r.v2.recoveredMs !== null, r.v2.firstSuccessMs !== null]).toEqual([r.fault, true, true]);
    expect([r.fault, r.v1.okBefore > 0, r.v2.okBefore > 0]).toEqual([r.fault, true, true]);
  }
  const memory = report.results.find((r) => r.fault === "memory")!;
  expect(memory.v1.recoveredMs).toBeNull();
  expect([report.verdict, report.reasons]).toEqual(["pass", []]);
  console.log(report.results.map((r) => `${r.fault}: V1 back in ${r.v1.recoveredMs?.toFixed(0) ?? "—"} ms, V2 in ${r.v2.recoveredMs?.toFixed(0)} ms`).join("; "));
}, 120_000);

test("a V2 slow to come back after a crash fails, with the times that failed it", async () => {
  const report = await validateFaults({
    v1: { name: "v1", strategy: "basic", handler, size: 2, ...quiet },
    v2: { name: "v2", handler: fixture("slow_restart_handler.py"), size: 2, env: { MOLT_START_DELAY: "1.5" }, startTimeoutMs: 20_000, ...quiet },
    faults: ["crash"],
    durationMs: 4000,
  });
  const [r] = report.results;
  expect(r!.v2.recoveredMs).toBeGreaterThan(1500);
  expect(report.verdict).toBe("fail");
  expect(report.reasons).toEqual([expect.stringMatching(/^crash: V2 back to full capacity in \d+ ms, V1 in \d+ ms: slower than V1 × 1\.5 \+ 250 ms$/)]);
}, 60_000);

test("a load every call of which fails (missing args) fails on both arms, never passes", async () => {
  const arm = fixture("arm_handler.py");
  const report = await validateFaults({
    v1: { name: "v1", strategy: "basic", handler: arm, size: 1, ...quiet },
    v2: { name: "v2", handler: arm, size: 1, ...quiet },
    faults: ["crash"],
    durationMs: 500,
    command: "work",
    timeoutMs: 500,
  });
  expect(report.verdict).toBe("fail");
  expect(report.reasons).toContain("crash: no call succeeded on V1 before the fault: the load cannot run there (check the command and its args)");
  expect(report.reasons).toContain("crash: no call succeeded on V2 after the fault within the run");
}, 60_000);

describe("faultVerdict", () => {
  const arm: FaultResult = { calls: 500, failed: 2, okBefore: 40, lost: 0, retriedOk: 1, firstSuccessMs: 20, recoveredMs: 300 };
  const limits = { tolerance: 0.5, recoveryFloorMs: 250, failedFloor: 5, minCalls: 20 };
  const verdict = (v1: Partial<FaultResult>, v2: Partial<FaultResult>) => faultVerdict([{ fault: "crash", v1: { ...arm, ...v1 }, v2: { ...arm, ...v2 } }], limits);

  test("passes a V2 that recovers like V1, within the tolerance and its floor", () => {
    expect(verdict({}, { recoveredMs: 300 * 1.5 + 250, failed: 2 * 1.5 + 5 })).toEqual({ verdict: "pass", reasons: [] });
  });

  test("fails on each kind of bad evidence", () => {
    const cases: [Partial<FaultResult>, Partial<FaultResult>, string][] = [
      [{}, { lost: 1 }, "crash: 1 calls on V2 never settled"],
      [{ lost: 2 }, {}, "crash: 2 calls on V1 never settled"],
      [{}, { recoveredMs: null }, "crash: V2 was not back to full capacity within the run"],
      [{}, { firstSuccessMs: null }, "crash: no call succeeded on V2 after the fault within the run"],
      [{}, { recoveredMs: 701 }, "crash: V2 back to full capacity in 701 ms, V1 in 300 ms: slower than V1 × 1.5 + 250 ms"],
      [{}, { firstSuccessMs: 281 }, "crash: first success on V2 281 ms after the fault, on V1 20 ms: slower than V1 × 1.5 + 250 ms"],
      [{}, { failed: 9 }, "crash: V2 failed 9 calls, V1 2: more than V1 × 1.5 + 5"],
      [{ okBefore: 0 }, {}, "crash: no call succeeded on V1 before the fault: the load cannot run there (check the command and its args)"],
    ];
    for (const [v1, v2, reason] of cases) expect(verdict(v1, v2)).toEqual({ verdict: "fail", reasons: [reason] });
  });

  test("too few calls is insufficient, not a pass; V1 not recovering is no fault of V2's", () => {
    expect(verdict({ calls: 10 }, {})).toEqual({ verdict: "insufficient", reasons: ["crash: V1 made 10 calls, fewer than minCalls (20)"] });
    expect(verdict({ recoveredMs: null }, {}).verdict).toBe("pass");
  });
});

test("the ledger counts a call that never settles as lost, whatever the pool says", async () => {
  const ledger = new Ledger();
  void ledger.track(Promise.resolve(1));
  void ledger.track(Promise.reject(new Error("failed, but settled")).catch(() => {}));
  void ledger.track(new Promise(() => {}));
  expect(await ledger.lostAfter(50)).toBe(1);
  expect([ledger.issued, ledger.settled]).toEqual([3, 2]);
});

test("options are validated", async () => {
  const e = await rejection(validateFaults({ v1: { name: "v1", handler }, v2: { name: "v2", handler }, faults: ["meteor" as never] }));
  expect(e.message).toBe('validate.faults: faults must be an array of crash, hang, garbage, memory, saturation, received ["meteor"]');
  expect((await rejection(validateFaults({ v1: { name: "v1", handler }, v2: { name: "v2", handler }, tolerance: -1 }))).message)
    .toBe("validate.faults: tolerance must be a finite number, at least 0, received -1");
});
