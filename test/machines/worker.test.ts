import { describe, expect, test } from "bun:test";
import { createActor } from "xstate";
import { type WorkerEvent, type WorkerLimits, workerMachine } from "../../machines/mod.ts";

const limits: WorkerLimits = {
  startTimeoutMs: 1000,
  drainTimeoutMs: 500,
  shutdownGraceMs: 200,
  killGraceMs: 100,
  unhealthyAfterMisses: 2,
  recycleOnOverrun: true,
};

/** A worker actor on a simulated clock, recording the effects it asks for. */
function harness(overrides: Partial<WorkerLimits> = {}) {
  let now = 0;
  const effects: string[] = [];
  const actor = createActor(
    workerMachine.provide({
      actions: {
        sendShutdown: () => effects.push("sendShutdown"),
        terminateProcess: () => effects.push("terminateProcess"),
        killProcess: () => effects.push("killProcess"),
      },
    }),
    { input: { workerId: "w1", limits: { ...limits, ...overrides } } },
  ).start();
  type Payload<T> = T extends WorkerEvent ? Omit<T, "now"> : never;
  return {
    effects,
    advance: (ms: number) => (now += ms),
    send(event: Payload<WorkerEvent>) {
      actor.send({ ...event, now } as WorkerEvent);
      return actor.getSnapshot();
    },
    tick() {
      return this.send({ type: "clock.ticked" });
    },
    get snapshot() {
      return actor.getSnapshot();
    },
  };
}

function ready(overrides: Partial<WorkerLimits> = {}) {
  const h = harness(overrides);
  h.send({ type: "process.spawned", pid: 42 });
  h.advance(30);
  h.send({ type: "hello.received" });
  return h;
}

describe("worker machine", () => {
  test("spawning → handshaking records the pid and a start deadline", () => {
    const h = harness();
    expect(h.snapshot.value).toBe("spawning");
    h.advance(5);
    const s = h.send({ type: "process.spawned", pid: 42 });
    expect(s.value).toBe("handshaking");
    expect(s.context).toMatchObject({ pid: 42, deadline: 1005 });
  });

  test("spawning → crashed when the spawn failed", () => {
    const s = harness().send({ type: "spawn.failed", detail: "ENOENT" });
    expect(s.value).toBe("crashed");
    expect(s.status).toBe("done");
    expect(s.context.failure).toEqual({ reason: "spawn_failed", detail: "ENOENT" });
  });

  test("handshaking → ready on hello, clearing the deadline", () => {
    const h = ready();
    expect(h.snapshot.value).toBe("ready");
    expect(h.snapshot.context.deadline).toBeNull();
  });

  test("handshaking: a tick before the deadline changes nothing, at the deadline it crashes and kills", () => {
    const h = harness();
    h.send({ type: "process.spawned", pid: 1 });
    h.advance(999);
    expect(h.tick().value).toBe("handshaking");
    h.advance(1);
    const s = h.tick();
    expect(s.value).toBe("crashed");
    expect(s.context.failure?.reason).toBe("start_timeout");
    expect(h.effects).toEqual(["killProcess"]);
  });

  test("handshaking → crashed on exit or protocol violation", () => {
    const exited = harness();
    exited.send({ type: "process.spawned", pid: 1 });
    const s = exited.send({ type: "process.exited", exitCode: 3, signal: null });
    expect(s.value).toBe("crashed");
    expect(s.context).toMatchObject({ exitCode: 3, failure: { reason: "exited", detail: "exit code 3" } });

    const garbled = harness();
    garbled.send({ type: "process.spawned", pid: 1 });
    expect(garbled.send({ type: "protocol.violated", detail: "bad" }).context.failure?.reason).toBe("protocol");
    expect(garbled.effects).toEqual(["killProcess"]);
  });

  test("handshaking → stopping when a stop is requested before hello", () => {
    const h = harness();
    h.send({ type: "process.spawned", pid: 1 });
    expect(h.send({ type: "stop.requested" }).value).toEqual({ stopping: "shuttingDown" });
    expect(h.effects).toEqual(["sendShutdown"]);
  });

  test("ready → degraded after the configured number of missed heartbeats; an answer restores ready", () => {
    const h = ready();
    expect(h.send({ type: "heartbeat.missed" }).value).toBe("ready");
    expect(h.snapshot.context.misses).toBe(1);
    expect(h.send({ type: "heartbeat.answered" }).context.misses).toBe(0);
    h.send({ type: "heartbeat.missed" });
    const s = h.send({ type: "heartbeat.missed" });
    expect(s.value).toBe("degraded");
    expect(h.send({ type: "heartbeat.missed" }).context.misses).toBe(3);
    const back = h.send({ type: "heartbeat.answered" });
    expect(back.value).toBe("ready");
    expect(back.context.misses).toBe(0);
  });

  test("ready → degraded on a deadline overrun, and it stays marked for recycling", () => {
    const h = ready();
    const s = h.send({ type: "call.overran", requestId: 9 });
    expect(s.value).toBe("degraded");
    expect(s.context.recycle).toBe("deadline_overrun");
    expect(h.send({ type: "heartbeat.answered" }).value).toBe("degraded");
    expect(h.send({ type: "call.overran", requestId: 10 }).value).toBe("degraded");
  });

  test("an overrun changes nothing when recycleOnOverrun is off", () => {
    const h = ready({ recycleOnOverrun: false });
    expect(h.send({ type: "call.overran", requestId: 1 }).value).toBe("ready");
    expect(h.snapshot.context.recycle).toBeNull();
  });

  for (const from of ["ready", "degraded"] as const) {
    test(`${from} → crashed on an unexpected exit or a protocol violation`, () => {
      const h = ready();
      if (from === "degraded") h.send({ type: "call.overran", requestId: 1 });
      expect(h.snapshot.value).toBe(from);
      expect(h.send({ type: "process.exited", exitCode: null, signal: "SIGKILL" }).context.failure).toEqual({
        reason: "exited",
        detail: "SIGKILL",
      });
      const g = ready();
      if (from === "degraded") g.send({ type: "call.overran", requestId: 1 });
      expect(g.send({ type: "protocol.violated", detail: "x" }).value).toBe("crashed");
      expect(g.effects).toEqual(["killProcess"]);
    });

    test(`${from} → draining → stopping when calls have drained`, () => {
      const h = ready();
      if (from === "degraded") h.send({ type: "call.overran", requestId: 1 });
      const s = h.send({ type: "stop.requested" });
      expect(s.value).toBe("draining");
      expect(s.context.deadline).toBe(30 + 500);
      expect(h.send({ type: "calls.drained" }).value).toEqual({ stopping: "shuttingDown" });
      expect(h.effects).toEqual(["sendShutdown"]);
    });
  }

  test("draining → stopping at the drain deadline, not before", () => {
    const h = ready();
    h.send({ type: "stop.requested" });
    h.advance(499);
    expect(h.tick().value).toBe("draining");
    h.advance(1);
    expect(h.tick().value).toEqual({ stopping: "shuttingDown" });
  });

  test("draining → crashed on exit or protocol violation", () => {
    const h = ready();
    h.send({ type: "stop.requested" });
    expect(h.send({ type: "process.exited", exitCode: 1, signal: null }).value).toBe("crashed");
    const g = ready();
    g.send({ type: "stop.requested" });
    expect(g.send({ type: "protocol.violated", detail: "x" }).value).toBe("crashed");
  });

  test("stopping escalates shutdown → SIGTERM → SIGKILL on its deadlines, and exits", () => {
    const h = ready();
    h.send({ type: "stop.requested" });
    h.send({ type: "calls.drained" });
    h.advance(199);
    expect(h.tick().value).toEqual({ stopping: "shuttingDown" });
    h.advance(1);
    expect(h.tick().value).toEqual({ stopping: "terminating" });
    h.advance(100);
    expect(h.tick().value).toEqual({ stopping: "killing" });
    expect(h.effects).toEqual(["sendShutdown", "terminateProcess", "killProcess"]);
    const s = h.send({ type: "process.exited", exitCode: null, signal: "SIGKILL" });
    expect(s.value).toBe("exited");
    expect(s.context).toMatchObject({ signal: "SIGKILL", deadline: null, failure: null });
  });

  test("stopping → exited with the exit code when shutdown is answered", () => {
    const h = ready();
    h.send({ type: "stop.requested" });
    h.send({ type: "calls.drained" });
    const s = h.send({ type: "process.exited", exitCode: 0, signal: null });
    expect(s.value).toBe("exited");
    expect(s.context.exitCode).toBe(0);
  });

  test("stopping → killing on a protocol violation", () => {
    const h = ready();
    h.send({ type: "stop.requested" });
    h.send({ type: "calls.drained" });
    expect(h.send({ type: "protocol.violated", detail: "x" }).value).toEqual({ stopping: "killing" });
    expect(h.effects).toEqual(["sendShutdown", "killProcess"]);
  });

  test("final states ignore every later event", () => {
    const h = ready();
    h.send({ type: "process.exited", exitCode: 1, signal: null });
    for (const type of ["hello.received", "heartbeat.answered", "stop.requested", "calls.drained"] as const) {
      expect(h.send({ type }).value).toBe("crashed");
    }
    expect(h.effects).toEqual([]);
  });
});
