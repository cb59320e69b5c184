/**
 * The pool's own record of where each session's calls ran, which the
 * affinity checklist item reads: a session moved while its worker still
 * served (affinity gave way) is told apart from one moved after its worker
 * was lost.
 */
import { expect, test } from "bun:test";
import { waitFor } from "../helpers.ts";
import { echoPool } from "./helpers.ts";

test("sessionsMoved counts a session that left a full worker; sessionsRebound one whose worker died", async () => {
  const { pool } = await echoPool({ name: "v2", size: 2, minReady: 2, capacity: 1 });
  const first = await pool.execute<number>("pid", {}, { sessionId: "a" });
  expect(pool.stats()).toMatchObject({ sessionCalls: 1, sessionsMoved: 0, sessionsRebound: 0 });

  // Its worker busy with one call (capacity 1), a second call of the session goes to the other worker.
  const [a1, a2] = await Promise.all([pool.execute<number>("pid", { sleep: 0.3 }, { sessionId: "a" }), pool.execute<number>("pid", {}, { sessionId: "a" })]);
  expect(a1).toBe(first);
  expect(a2).not.toBe(first);
  expect(pool.stats()).toMatchObject({ sessionCalls: 3, sessionsMoved: 1, sessionsRebound: 0 });

  // The worker the session is on now dies: its next call moves, and that is not affinity giving way.
  process.kill(a2, "SIGKILL");
  expect(await waitFor(() => pool.metrics().ready === 2 && !pool.metrics().workers.some((w) => w.pid === a2), 10_000)).toBe(true);
  await pool.execute("pid", {}, { sessionId: "a" });
  expect(pool.stats()).toMatchObject({ sessionCalls: 4, sessionsMoved: 1, sessionsRebound: 1 });
  await pool.stop();
}, 30_000);

test("without affinity nothing is recorded", async () => {
  const { pool } = await echoPool({ name: "v2", size: 1, affinity: "none" });
  await pool.execute("echo", 1, { sessionId: "a" });
  expect(pool.stats()).toMatchObject({ sessionCalls: 0, sessionsMoved: 0, sessionsRebound: 0 });
  await pool.stop();
});
