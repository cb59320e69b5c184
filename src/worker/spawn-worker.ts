/**
 * Starting a worker as a scoped Effect resource, and the Promise API over it.
 *
 * @module
 */
import * as Effect from "effect/Effect";
import * as Exit from "effect/Exit";
import * as Schedule from "effect/Schedule";
import * as Scope from "effect/Scope";
import { type ConfigError, WorkerStartError } from "../errors.ts";
import { SpawnFailure } from "../process/child.ts";
import { resolvePython } from "../process/python.ts";
import { resolveWorkerOptions, type WorkerOptions } from "./options.ts";
import { PythonWorker, type Worker } from "./python-worker.ts";

/**
 * Acquire a worker in the current scope: closing the scope stops the process
 * (drain, `shutdown`, SIGTERM, SIGKILL) and interrupts its heartbeat fiber.
 *
 * @example
 * ```ts
 * import { Effect } from "effect";
 * import { acquireWorker } from "molt";
 * const answer = await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
 *   const worker = yield* acquireWorker({ handler: "./test/fixtures/echo_handler.py", heartbeatMs: 0 });
 *   return yield* Effect.promise(() => worker.call("echo", [1, 2]));
 * })));
 * console.log(answer); // [1, 2]
 * ```
 */
export function acquireWorker(
  options: WorkerOptions,
): Effect.Effect<Worker, WorkerStartError | ConfigError, Scope.Scope> {
  return acquirePythonWorker(options);
}

/** acquireWorker, typed as the implementation, for the pool. */
export function acquirePythonWorker(
  options: WorkerOptions,
): Effect.Effect<PythonWorker, WorkerStartError | ConfigError, Scope.Scope> {
  return Effect.gen(function* () {
    const config = yield* Effect.try({ try: () => resolveWorkerOptions(options), catch: (e) => e as ConfigError });
    // startTimeoutMs bounds the whole start: finding the interpreter (once per name) takes from it.
    const t0 = performance.now();
    const python = yield* Effect.tryPromise({ try: () => resolvePython(config.python, config.startTimeoutMs), catch: (e) => interpreterFailure(config.id, e) });
    const left = Math.max(1, config.startTimeoutMs - Math.floor(performance.now() - t0));
    const worker = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => PythonWorker.start({ ...config, python, startTimeoutMs: left }), catch: (e) => e as WorkerStartError }),
      (w) => Effect.promise(() => w.terminate()),
    );
    if (config.heartbeatMs > 0) {
      yield* Effect.forkScoped(
        Effect.promise(() => worker.heartbeat()).pipe(
          Effect.delay(config.heartbeatMs),
          Effect.repeat({ schedule: Schedule.spaced(config.heartbeatMs), while: (live: boolean) => live }),
        ),
      );
    }
    return worker;
  });
}

/** The start failure of a worker whose interpreter could not be found or did not answer in time. */
function interpreterFailure(workerId: string, error: unknown): WorkerStartError {
  const timedOut = error instanceof SpawnFailure && error.code === "ETIMEDOUT";
  const detail = error instanceof SpawnFailure ? error.detail : String(error);
  return new WorkerStartError({ workerId, reason: timedOut ? "timeout" : "spawn_failed", detail, pid: null, exitCode: null, signal: null, stderrTail: [] });
}

/**
 * Spawn a Python worker and wait until it has said hello.
 *
 * Rejects with a `ConfigError` for a bad option and a `WorkerStartError`
 * (exit code, stderr tail) when the process cannot start.
 *
 * @example
 * ```ts
 * import { spawnWorker } from "molt";
 * const worker = await spawnWorker({ handler: "./test/fixtures/echo_handler.py", threads: 4, heartbeatMs: 0 });
 * const answers = await Promise.all([1, 2, 3].map((n) => worker.call("echo", n)));
 * console.log(answers); // [1, 2, 3]
 * await worker.stop();
 * ```
 */
export async function spawnWorker(options: WorkerOptions): Promise<Worker> {
  const scope = Effect.runSync(Scope.make());
  let worker: PythonWorker;
  try {
    worker = await Effect.runPromise(Scope.provide(acquirePythonWorker(options), scope));
  } catch (e) {
    await Effect.runPromise(Scope.close(scope, Exit.void));
    throw e;
  }
  worker.setStopHook(() => Effect.runPromise(Scope.close(scope, Exit.void)));
  return worker;
}
