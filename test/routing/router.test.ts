/**
 * The router: arms decided by the flags and the sticky key, sessions that
 * stay put, fallback to V1 when V2 cannot take a call, route events, and the
 * plan's operations with the same results on either arm.
 */
import { describe, expect, test } from "bun:test";
import { bucketOf, SHARE_FLAG } from "../../mod.ts";
import { rejection, waitFor } from "../helpers.ts";
import { ofType } from "../pool/helpers.ts";
import { arms, share } from "./helpers.ts";

type Answer = { value: number; arm: string };

describe("routing", () => {
  test("with V2 off every call goes to V1, and each decision is an event", async () => {
    const { router, events, stop } = await arms();
    expect(((await router.execute("answer", { x: 1 }, { sessionId: "s1" })) as Answer).arm).toBe("v1");
    expect(ofType(events, "route.decided")).toEqual([
      { type: "route.decided", pool: "v1", at: expect.any(Number), command: "answer", arm: "v1", reason: "v2_disabled", bucket: null, keyHash: expect.stringMatching(/^[0-9a-f]{8}$/) },
    ]);
    expect(router.stats()).toMatchObject({ v1: 1, v2: 0, fallbacks: 0, shadow: null });
    await stop();
  });

  test("the share decides by the sticky key's bucket, and a session keeps its arm", async () => {
    const { router, flags, stop } = await arms();
    await share(flags, 5000);
    const sessions = Array.from({ length: 30 }, (_, i) => `session-${i}`);
    for (let round = 0; round < 3; round++) {
      const answers = await Promise.all(sessions.map((s) => router.execute("answer", { x: round }, { sessionId: s }) as Promise<Answer>));
      expect(answers.map((a) => a.arm)).toEqual(sessions.map((s) => (bucketOf(SHARE_FLAG, s) < 5000 ? "v2" : "v1")));
    }
    const onV2 = sessions.filter((s) => bucketOf(SHARE_FLAG, s) < 5000).length;
    expect(router.stats()).toMatchObject({ v1: 3 * (30 - onV2), v2: 3 * onV2, byReason: { inside_share: 3 * onV2, outside_share: 3 * (30 - onV2) } });
    expect(router.decide({ requestId: "r-1" }).bucket).toBe(bucketOf(SHARE_FLAG, "r-1"));
    await stop();
  });

  test("raising the share only ever moves sessions from V1 to V2", async () => {
    const { router, flags, stop } = await arms();
    const sessions = Array.from({ length: 500 }, (_, i) => `user-${i}`);
    let before = new Map(sessions.map((s) => [s, router.decide({ sessionId: s }).arm]));
    for (const bp of [500, 1000, 2500, 5000, 7500, 10_000]) {
      await share(flags, bp);
      const now = new Map(sessions.map((s) => [s, router.decide({ sessionId: s }).arm]));
      expect(sessions.filter((s) => before.get(s) === "v2" && now.get(s) === "v1")).toEqual([]);
      before = now;
    }
    expect([...before.values()].every((arm) => arm === "v2")).toBe(true);
    await stop();
  });

  test("a call with no session or request id draws its bucket at random", async () => {
    let draw = 0.1;
    const { router, flags, stop } = await arms({ random: () => draw });
    await share(flags, 2000);
    expect(router.decide()).toEqual({ arm: "v2", reason: "inside_share", bucket: 1000 });
    draw = 0.5;
    expect(router.decide()).toEqual({ arm: "v1", reason: "outside_share", bucket: 5000 });
    await stop();
  });

  test("calls bound for V2 go to V1 when its breaker is open or it is not serving, counted", async () => {
    const { router, flags, v2, events, stop } = await arms({}, { breaker: { consecutiveFailures: 1, halfOpenAfterMs: 60_000 }, retry: false });
    await share(flags, 10_000);
    expect((await rejection(router.execute("crash", {}, { sessionId: "s" })))._tag).toBe("WorkerExitedError");
    await waitFor(() => v2.metrics().ready === 1, 5000);
    const answer = (await router.execute("answer", { x: 2 }, { sessionId: "s" })) as Answer;
    expect(answer).toMatchObject({ value: 4, arm: "v1" });
    expect(router.stats()).toMatchObject({ v1: 1, v2: 1, fallbacks: 1 });
    expect(ofType(events, "route.decided").map((e) => [e.arm, e.reason])).toEqual([["v2", "inside_share"], ["v2", "inside_share"], ["v1", "v2_unavailable"]]);
    await v2.stop();
    expect(((await router.execute("answer", { x: 3 }, { sessionId: "s" })) as Answer).arm).toBe("v1");
    expect(router.stats().fallbacks).toBe(2);
    // What callers got: the crash failed on V2; the two fallbacks succeeded on V1, counted there.
    expect(router.stats().callers).toEqual({ v1: { calls: 2, failed: 0, tags: {} }, v2: { calls: 1, failed: 1, tags: { WorkerExitedError: 1 } } });
    await stop();
  });

  test("with V1 gone (decommissioned) a call V2 cannot take fails with V2's own error, not V1's", async () => {
    const { router, flags, v1, v2, stop } = await arms({}, { breaker: { consecutiveFailures: 1, halfOpenAfterMs: 60_000 }, retry: false });
    await share(flags, 10_000);
    await v1.stop();
    expect((await rejection(router.execute("crash", {}, { sessionId: "s" })))._tag).toBe("WorkerExitedError");
    await waitFor(() => v2.metrics().ready === 1, 5000);
    // V2's breaker is open: the refusal is V2's, and nothing is counted as a fallback.
    const refused = await rejection(router.execute("answer", { x: 2 }, { sessionId: "s" }));
    expect([refused._tag, refused.pool]).toEqual(["BreakerOpenError", "v2"]);
    await v2.stop();
    expect((await rejection(router.execute("answer", { x: 3 }, { sessionId: "s" }))).pool).toBe("v2");
    expect(router.stats()).toMatchObject({ v1: 0, fallbacks: 0 });
    await stop();
  });

  test("idempotent calls that V2 failed while it was switched off run again on V1; others keep their error", async () => {
    const { router, flags, v2, stop } = await arms({}, { size: 2 });
    await share(flags, 10_000);
    const idempotent = Array.from({ length: 4 }, (_, i) => router.execute<Answer>("slow", { x: i, sleep: 2 }, { sessionId: `i${i}`, idempotent: true }));
    const once = Array.from({ length: 2 }, (_, i) => rejection(router.execute("slow", { x: i, sleep: 2 }, { sessionId: `o${i}` })));
    expect(await waitFor(() => v2.stats().inFlight === 6, 5000)).toBe(true);
    flags.pin("pool_v2_share", 0);
    await v2.drain({ deadlineMs: 100 });
    const answers = await Promise.all(idempotent);
    expect(answers.map((a) => a.value)).toEqual([0, 1, 2, 3]);
    const errors = await Promise.all(once);
    expect(errors.map((e) => [e._tag, e.inFlight])).toEqual([["PoolDrainingError", true], ["PoolDrainingError", true]]);
    expect(router.stats()).toMatchObject({ v1: 4, v2: 2, fallbacks: 4 });
    expect(router.stats().callers).toEqual({ v1: { calls: 4, failed: 0, tags: {} }, v2: { calls: 2, failed: 2, tags: { PoolDrainingError: 2 } } });
    await stop();
  }, 20_000);

  test('with fallback "none" a refused V2 call fails with V2\'s error', async () => {
    const { router, flags, v2, stop } = await arms({ fallback: "none" }, { breaker: { consecutiveFailures: 1, halfOpenAfterMs: 60_000 }, retry: false });
    await share(flags, 10_000);
    await rejection(router.execute("crash", {}, { sessionId: "s" }));
    await waitFor(() => v2.metrics().ready === 1, 5000);
    expect((await rejection(router.execute("answer", { x: 1 }, { sessionId: "s" })))._tag).toBe("BreakerOpenError");
    expect(router.stats().fallbacks).toBe(0);
    await stop();
  });

  test("options are validated", async () => {
    const { router: _, v1, v2, flags, store, stop } = await arms();
    const { createRouter } = await import("../../mod.ts");
    expect(() => createRouter({ v1, v2, flags, store, fallback: "v3" as never })).toThrow('router: fallback must be "v1" or "none", received "v3"');
    expect(() => createRouter({ v1, v2, flags, store, rolloutId: "" })).toThrow('router: rolloutId must be a non-empty string, received ""');
    expect(() => createRouter({ v1, v2: {} as never, flags, store })).toThrow("router: v2 must be a Pool from createPool(), received {}");
    expect(() => createRouter({ v1, v2: v1, flags, store })).toThrow('router: v2 must be a Pool other than v1 (one pool cannot be both arms), received ');
    expect(() => createRouter({ v1, v2, flags, store, shadow: { sampleRate: 2, commands: [] } })).toThrow("router: shadow.sampleRate must be a number from 0 to 1, received 2");
    expect(() => createRouter({ v1, v2, flags, store, shadow: { sampleRate: 1, commands: "answer" as never } })).toThrow('router: shadow.commands must be an array of command names, received "answer"');
    expect(() => createRouter({ v1, v2, flags, store, node: { rolloutId: "" } })).toThrow('router: node.rolloutId must be a non-empty string, received ""');
    expect(() => createRouter({ v1, v2, flags, store, node: { rolloutId: "r", heartbeatMs: 0 } })).toThrow("router: node.heartbeatMs must be a positive integer of milliseconds");
    expect(() => createRouter({ v1, v2, flags, store, node: "r" as never })).toThrow('router: node must be an object with at least { rolloutId }, received "r"');
    // Nothing registered by the refused ones.
    expect(await store.nodes.list()).toEqual([]);
    await stop();
  });

  test("a router given node registers with role router, beats with the share it applies, and leaves when closed", async () => {
    const { router, flags, store, stop } = await arms({ node: { rolloutId: "checkout", nodeId: "web-3", heartbeatMs: 50 } });
    expect(await waitFor(async () => (await store.nodes.list("checkout"))[0]?.live === true, 5000)).toBe(true);
    expect((await store.nodes.list("checkout"))[0]).toMatchObject({ nodeId: "web-3", role: "router", arms: ["v1", "v2"], pid: process.pid });
    await share(flags, 2500);
    expect(await waitFor(async () => (await store.nodes.list("checkout"))[0]?.shareBp === 2500, 5000)).toBe(true);
    await router.close();
    expect((await store.nodes.list("checkout"))[0]).toMatchObject({ role: "stopped", live: false });
    await stop();
  });
});

describe("programs live on the host", () => {
  test("a program created while V1 served a session runs on V2 after the session moves, and on V1 after a rollback", async () => {
    const { router, flags, v2, stop } = await arms();
    const program = await router.createProgram({ signature: "question -> answer", handler: "qa" }, { id: "shout" });
    const run = () => router.executeProgram<{ answer: string }>("shout", { question: "hello" }, { sessionId: "s1" });
    expect(await run()).toEqual({ answer: "HELLO" });
    expect(router.stats()).toMatchObject({ v1: 1, v2: 0 });
    await share(flags, 10_000);
    expect(await run()).toEqual({ answer: "HELLO" });
    expect(router.stats()).toMatchObject({ v1: 1, v2: 1 });
    const described = (await v2.execute("describe")) as { programs: { cached: { id: string; hash: string }[]; compiled: number } };
    expect(described.programs).toEqual({ cached: [{ id: "shout", hash: program.contentHash }], compiled: 1 });
    await flags.set("pool_v2_share", 0, { reason: "rollback" });
    expect(await run()).toEqual({ answer: "HELLO" });
    expect(router.stats()).toMatchObject({ v1: 2, v2: 1 });
    await stop();
  });

  test("a worker recompiles a program whose content changed, and reuses it otherwise", async () => {
    const { router, v1, stop } = await arms();
    await router.createProgram({ signature: "question -> answer", handler: "qa" }, { id: "p" });
    await router.executeProgram("p", { question: "a" });
    await router.executeProgram("p", { question: "b" });
    await router.createProgram({ signature: "question -> answer", handler: "qa", description: "v2 of it" }, { id: "p" });
    await router.executeProgram("p", { question: "c" });
    expect(((await v1.execute("describe")) as { programs: { compiled: number } }).programs.compiled).toBe(2);
    await stop();
  });

  test("list, delete, and clear errors for bad definitions, unknown ids and missing inputs", async () => {
    const { router, stop } = await arms();
    await router.createProgram({ signature: "a, b -> c", handler: "qa" }, { id: "two" });
    const made = await router.createProgram({ signature: "q -> a", dspy: { module: "Predict" } });
    expect(made.id).toMatch(/^program-/);
    expect((await router.listPrograms()).map((p) => p.id).sort()).toEqual([made.id, "two"].sort());
    const bad = await rejection(router.createProgram({ signature: "no arrow", handler: "qa" }));
    expect([bad._tag, bad.programId]).toEqual(["ProgramError", expect.stringMatching(/^program-/)]);
    const both = await rejection(router.createProgram({ signature: "q -> a" }, { id: "neither" }));
    expect(both.message).toBe('program "neither": invalid definition: give exactly one of "handler" or "dspy"');
    const missing = await rejection(router.executeProgram("nope", {}));
    expect(missing.message).toBe('program "nope": not found');
    const input = await rejection(router.executeProgram("two", { a: 1 }));
    expect([input._tag, input.type, input.message]).toEqual(["PythonError", "ProgramError", expect.stringContaining("missing input b")]);
    const dspy = await rejection(router.executeProgram(made.id, { q: "x" }));
    expect([dspy._tag, dspy.type]).toEqual(["PythonError", "ProgramUnavailable"]);
    expect(await router.deleteProgram("two")).toBe(true);
    expect(await router.deleteProgram("two")).toBe(false);
    await stop();
  });

  test("healthCheck reports both pools, the flags and the counts", async () => {
    const { router, v2, stop } = await arms();
    const health = await router.healthCheck();
    expect(health).toMatchObject({ healthy: true, v1: { pool: "v1", healthy: true }, v2: { pool: "v2", healthy: true }, flags: { pool_v2_enabled: false } });
    await v2.stop();
    expect((await router.healthCheck()).healthy).toBe(true);
    await stop();
  });
});
