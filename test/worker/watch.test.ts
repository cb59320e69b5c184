import { expect, setDefaultTimeout, test } from "bun:test";
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Scope from "effect/Scope";
import { acquirePythonWorker } from "../../src/worker/spawn-worker.ts";
import { fixture, pidAlive, PROCESS_TEST_TIMEOUT_MS, rejection, waitFor } from "../helpers.ts";

setDefaultTimeout(PROCESS_TEST_TIMEOUT_MS);

test("a watcher that stops the worker on degradation really stops it (re-entrant dispatch keeps the stop deadlines)", async () => {
  const scope = Effect.runSync(Scope.make());
  const worker = await Effect.runPromise(
    Scope.provide(acquirePythonWorker({ handler: fixture("echo_handler.py"), heartbeatMs: 0, cancelGraceMs: 0, drainTimeoutMs: 20, shutdownGraceMs: 20, killGraceMs: 20, onStderr: () => {} }), scope),
  );
  const states: string[] = [];
  worker.watch((state) => {
    states.push(state);
    if (state === "degraded") void worker.terminate();
  });
  expect((await rejection(worker.call("sleep", { seconds: 10 }, { timeoutMs: 50 })))._tag).toBe("WorkerTimeoutError");
  // The handler sleeps 10 s and holds the shutdown frame: only SIGTERM ends it in time.
  expect(await waitFor(() => !pidAlive(worker.pid), 2000)).toBe(true);
  expect(states.slice(0, 2)).toEqual(["degraded", "draining"]);
  await Effect.runPromise(Scope.close(scope, Exit.void));
});
