import { describe, expect, test } from "bun:test";
import { createActor } from "xstate";
import { breakerMachine, poolMachine } from "../../machines/mod.ts";

describe("pool machine", () => {
  const start = () => createActor(poolMachine, { input: { poolName: "v2", minReady: 2, target: 3 } }).start();

  test("starting until minReady, then serving while workers come up", () => {
    const a = start();
    a.send({ type: "workers.changed", ready: 1, target: 3, now: 1 });
    expect(a.getSnapshot().value).toBe("starting");
    a.send({ type: "workers.changed", ready: 2, target: 3, now: 2 });
    expect(a.getSnapshot().value).toBe("serving");
    a.send({ type: "workers.changed", ready: 3, target: 3, now: 3 });
    expect(a.getSnapshot().value).toBe("serving");
  });

  test("degraded from a loss until back at target; growth alone never degrades", () => {
    const a = start();
    a.send({ type: "workers.changed", ready: 3, target: 3, now: 1 });
    a.send({ type: "workers.changed", ready: 3, target: 4, now: 2 });
    expect(a.getSnapshot().value).toBe("serving");
    a.send({ type: "workers.changed", ready: 2, target: 4, now: 3 });
    expect(a.getSnapshot().value).toBe("degraded");
    a.send({ type: "workers.changed", ready: 4, target: 4, now: 4 });
    expect(a.getSnapshot().value).toBe("serving");
    expect(a.getSnapshot().context.changedAt).toBe(4);
  });

  test("a failed start drains; draining ends in stopped, a final state", () => {
    const a = start();
    a.send({ type: "start.failed", detail: "exit code 4", now: 5 });
    expect(a.getSnapshot().value).toBe("draining");
    expect(a.getSnapshot().context.failure).toBe("exit code 4");
    a.send({ type: "workers.stopped", now: 6 });
    expect(a.getSnapshot().status).toBe("done");
  });
});

describe("breaker machine", () => {
  test("closed → open → halfOpen → closed, counting opens", () => {
    const a = createActor(breakerMachine, { input: { breakerId: "v2" } }).start();
    a.send({ type: "breaker.opened", now: 10 });
    a.send({ type: "breaker.halfOpened", now: 20 });
    a.send({ type: "breaker.opened", now: 21 });
    a.send({ type: "breaker.halfOpened", now: 30 });
    a.send({ type: "breaker.closed", now: 31 });
    expect(a.getSnapshot().value).toBe("closed");
    expect(a.getSnapshot().context).toMatchObject({ opens: 2, openedAt: 21, changedAt: 31 });
  });

  test("isolated from any state, released only to closed; a stray close while open is ignored", () => {
    const a = createActor(breakerMachine, { input: { breakerId: "v2" } }).start();
    a.send({ type: "breaker.opened", now: 1 });
    a.send({ type: "breaker.closed", now: 2 });
    expect(a.getSnapshot().value).toBe("open");
    a.send({ type: "breaker.isolated", now: 3 });
    expect(a.getSnapshot().value).toBe("isolated");
    a.send({ type: "breaker.halfOpened", now: 4 });
    expect(a.getSnapshot().value).toBe("isolated");
    a.send({ type: "breaker.released", now: 5 });
    expect(a.getSnapshot().value).toBe("closed");
  });
});
