/**
 * No timer outlives stop(): a host whose pool queued calls (30 s queue
 * deadline) exits as soon as the pool is stopped.
 */
import { expect, test } from "bun:test";
import { fixture, lines, spawnChild, tsCommand } from "../helpers.ts";

test("the host exits within seconds of pool.stop(), not at the queue's 30 s deadline", async () => {
  const child = spawnChild(tsCommand(fixture("stop-and-exit.ts")), { stderr: "pipe" });
  let stoppedAt = 0;
  for await (const line of lines(child.stdout)) if (line === "stopped") stoppedAt = performance.now();
  await child.exited;
  expect(stoppedAt).toBeGreaterThan(0);
  // A loaded machine may take a moment; the timer that held the host alive waited 30 s.
  expect(performance.now() - stoppedAt).toBeLessThan(10_000);
}, 60_000);
