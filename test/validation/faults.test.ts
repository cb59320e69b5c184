/**
 * Fault recovery on real pools: each fault injected into each arm under
 * load; no call is ever lost; V2 recovers from every fault, V1 (no memory
 * limit) never recovers from a worker holding too much memory.
 */
import { expect, test } from "bun:test";
import { FAULT_KINDS, validateFaults } from "../../mod.ts";
import { fixture, rejection } from "../helpers.ts";

const handler = fixture("echo_handler.py");

test("every fault on both arms: nothing lost, V2 back to full capacity each time", async () => {
  const report = await validateFaults({
    v1: { name: "v1", strategy: "basic", handler, size: 2, onStderr: () => {} },
    v2: { name: "v2", handler, size: 2, onStderr: () => {} },
    durationMs: 1200,
  });
  expect(report.results.map((r) => r.fault)).toEqual([...FAULT_KINDS]);
  for (const r of report.results) {
    expect([r.fault, r.v1.lost, r.v2.lost]).toEqual([r.fault, 0, 0]);
    expect([r.fault, r.v2.recoveredMs !== null, r.v2.firstSuccessMs !== null]).toEqual([r.fault, true, true]);
    expect(r.v2.calls).toBeGreaterThan(0);
  }
  const memory = report.results.find((r) => r.fault === "memory")!;
  expect(memory.v1.recoveredMs).toBeNull();
  expect(report.verdict).toBe("pass");
  console.log(report.results.map((r) => `${r.fault}: V1 back in ${r.v1.recoveredMs?.toFixed(0) ?? "—"} ms, V2 in ${r.v2.recoveredMs?.toFixed(0)} ms`).join("; "));
}, 60_000);

test("options are validated", async () => {
  const e = await rejection(validateFaults({ v1: { name: "v1", handler }, v2: { name: "v2", handler }, faults: ["meteor" as never] }));
  expect(e.message).toBe('validate.faults: faults must be an array of crash, hang, garbage, memory, saturation, received ["meteor"]');
});
