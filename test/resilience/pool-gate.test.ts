/**
 * The pool's gate on its own: opens when more than half of the positions
 * fail, lets one probe through at a time once due, and closes only on a
 * probe's success with no more than half failing — a probe answered by a
 * healthy worker of the minority says nothing of the rest.
 */
import { expect, test } from "bun:test";
import { memoryRecord } from "../../src/resilience/breaker.ts";
import { PoolGate } from "../../src/resilience/pool-gate.ts";
import { waitFor } from "../helpers.ts";

const gate = (halfOpenAfterMs: number) => {
  const moves: string[] = [];
  return { moves, gate: new PoolGate(halfOpenAfterMs, (_, to) => void moves.push(to), memoryRecord("g"), undefined) };
};

test("opens on a failing majority only, and refuses until due", () => {
  const { gate: g, moves } = gate(60_000);
  g.judge(2, 4);
  expect([g.state, g.admit()]).toEqual(["closed", "pass"]);
  g.judge(3, 4);
  expect([g.state, g.admit(), g.admit()]).toEqual(["open", "refuse", "refuse"]);
  expect(moves).toEqual(["open"]);
});

test("once due, one probe at a time; a success with most positions still failing keeps it from closing", async () => {
  const { gate: g, moves } = gate(30);
  g.judge(3, 4);
  expect(await waitFor(() => g.admit() === "probe", 2000)).toBe(true);
  expect([g.state, g.admit()]).toEqual(["halfOpen", "refuse"]);
  g.probed(true, false);
  expect(g.state).toBe("halfOpen");
  expect(g.admit()).toBe("probe");
  g.probed(false, false);
  expect(g.state).toBe("open");
  expect(await waitFor(() => g.admit() === "probe", 2000)).toBe(true);
  g.probed(true, true);
  expect([g.state, g.admit()]).toEqual(["closed", "pass"]);
  expect(moves).toEqual(["open", "halfOpen", "open", "halfOpen", "closed"]);
});

test("restored open, it stays open until due, whatever the positions say", () => {
  const g = new PoolGate(60_000, () => {}, memoryRecord("g"), { state: "open", openedAt: Date.now() });
  g.judge(0, 4);
  expect([g.state, g.admit()]).toEqual(["open", "refuse"]);
});
