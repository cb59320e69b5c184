/** Worker test helpers: a worker that is stopped, and checked gone, whatever the test did. */
import { expect } from "bun:test";
import { spawnWorker, type Worker } from "../../mod.ts";
import { pidAlive } from "../helpers.ts";

/** No heartbeat, no stderr on the test's output. */
export const quiet = { heartbeatMs: 0, onStderr: () => {} };

/** Run `body` with a worker started with `options`, then stop it and check its process is gone. */
export async function withWorker(options: Parameters<typeof spawnWorker>[0], body: (w: Worker) => Promise<void>): Promise<void> {
  const worker = await spawnWorker(options);
  try {
    await body(worker);
  } finally {
    await worker.stop();
    expect(pidAlive(worker.pid)).toBe(false);
  }
}
